/** A start-up problem the operator must fix (port in use, bad data dir): one clear line, exit 2. */
export class StartupError extends Error {}
