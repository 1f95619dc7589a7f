// A free TCP port on loopback, for processes the tests and benchmarks start.
import net from 'node:net'

/** A port the OS just handed out and released; good enough on a quiet loopback. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => {
        resolve(port)
      })
    })
  })
}
