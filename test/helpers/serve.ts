import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A listener on a free loopback port. */
export interface Served {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  server: Server
  /** Drops open connections (keep-alive included) and stops listening. */
  close(): Promise<void>
}

/**
 * Serves `handler` (an Express app or any request listener) on 127.0.0.1 at a port the system
 * picks: the one way tests put an app on the network.
 *
 * @example
 * ```ts
 * const app = await serve(express().get('/', (_req, res) => res.end('ok')))
 * await fetch(app.url)
 * await app.close()
 * ```
 */
export async function serve(handler: RequestListener): Promise<Served> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
