// The dashboard's entry point (web/static/index.html loads it as a module).
import { Dashboard } from './dashboard.js'

new Dashboard().start()
