import type { Server } from 'node:http'
import { pino } from 'pino'
import { type Auth, createAuth } from '../auth.js'
import { readServerConfig, type ServerConfig } from '../config/env.js'
import { createServerApp } from './app.js'
import { loadOrCreateAuthSecret } from './auth-secret.js'

/** A running server. */
export interface RunningServer {
  config: ServerConfig
  auth: Auth
  server: Server
  /** `http://host:port` it listens on. */
  url: string
  /** Stops accepting, lets requests in flight finish, closes the database. */
  stop(): Promise<void>
}

/**
 * Starts the ready server from environment variables (API.md "Configuration"). Throws a
 * `ConfigError` naming the variable when a setting is wrong.
 */
export async function startServer(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningServer> {
  const config = readServerConfig(env)
  const logger = pino({ level: config.logLevel, base: undefined })
  let secret = config.authSecret
  if (secret === null) {
    const loaded = loadOrCreateAuthSecret(config.dataDir)
    secret = loaded.secret
    if (loaded.created) {
      logger.warn(
        { file: loaded.path },
        'AUTH_SECRET is not set: generated one into the data folder. Set AUTH_SECRET in production, the same on every instance.',
      )
    }
  }
  const auth = await createAuth({ ...config.auth, database: config.databaseUrl, secret, logger })
  let shuttingDown = false
  const app = createServerApp(auth, { trustProxy: config.trustProxy, isShuttingDown: () => shuttingDown })
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s))
    s.once('error', reject)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const url = `http://${host}:${port}`
  let stopping: Promise<void> | null = null
  return {
    config,
    auth,
    server,
    url,
    stop() {
      stopping ??= (async () => {
        shuttingDown = true
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        await auth.close()
      })()
      return stopping
    },
  }
}
