import type { Server } from 'node:http'
import { type Auth, createAuth } from '../auth.js'
import { readServerConfig, type ServerConfig } from '../config/env.js'
import { createWebhookListener } from '../events/webhook.js'
import { describeDatabaseUrl, openStorage } from '../storage/open-storage.js'
import { createServerApp } from './app.js'
import { resolveAuthSecret } from './auth-secret.js'
import { createLogger } from './logging.js'
import { createServerMetrics } from './metrics.js'

/** A running server. */
export interface RunningServer {
  config: ServerConfig
  auth: Auth
  server: Server
  /** `http://host:port` it listens on. */
  url: string
  /**
   * Drains and stops: `/readyz` answers 503, the listening socket closes (new connections are
   * refused), requests in flight finish (each answer closes its keep-alive connection), and after
   * `SHUTDOWN_TIMEOUT` any connection still open is cut; then the database closes.
   */
  stop(): Promise<void>
}

/**
 * Starts the ready server from environment variables (docs/configuration.md). Throws a
 * `ConfigError` naming the variable when a setting is wrong.
 */
export async function startServer(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningServer> {
  const config = readServerConfig(env)
  const logger = createLogger({ level: config.logLevel })
  // Opened here rather than by createAuth: whether it holds keys decides whether a missing secret
  // may be generated (resolveAuthSecret).
  // The storage names its tables; createAuth is handed it without the prefix, which it would refuse.
  const { tablePrefix, ...authOptions } = config.auth
  const storage = await openStorage(config.databaseUrl, { tablePrefix })
  let auth: Auth
  try {
    await storage.migrate()
    const found = await resolveAuthSecret(config, async () => (await storage.listKeys()).length > 0)
    const database = describeDatabaseUrl(config.databaseUrl)
    if (found.from === 'generated') {
      logger.warn(
        { database, secretFile: found.path },
        'AUTH_SECRET is not set: generated one into the data folder. Set AUTH_SECRET in production, the same on every instance.',
      )
    } else {
      logger.info(
        { database, secret: found.from === 'AUTH_SECRET' ? 'AUTH_SECRET' : found.path },
        'storage open',
      )
    }
    auth = await createAuth({ ...authOptions, database: storage, secret: found.secret, logger })
  } catch (error) {
    await storage.close()
    throw error
  }
  let shuttingDown = false
  if (config.eventsWebhookUrl !== null) {
    auth.events.subscribe(
      createWebhookListener({
        url: config.eventsWebhookUrl,
        logger,
        ...(config.eventsWebhookSecret === null ? {} : { secret: config.eventsWebhookSecret }),
      }),
    )
  }
  const metrics = createServerMetrics({
    basePath: auth.options.basePath,
    collectProcessMetrics: true,
    ...(config.metricsToken === null ? {} : { token: config.metricsToken }),
  })
  auth.events.subscribe((event) => metrics.countEvent(event))
  const app = createServerApp(auth, {
    trustProxy: config.trustProxy,
    isShuttingDown: () => shuttingDown,
    logger,
    metrics,
    demoPage: config.demoPage,
  })
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
        logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining requests in flight')
        if (config.shutdownDelayMs > 0) {
          // Still accepting: a balancer polling /readyz sees 503 and stops sending before we close.
          await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs))
        }
        const drained = new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs)
        })
        if ((await Promise.race([drained, timedOut])) === 'timeout') {
          logger.warn({}, 'shutdown timeout: closing the connections still open')
          server.closeAllConnections()
          await drained
        }
        clearTimeout(timer)
        await auth.close()
        await storage.close()
        logger.info({}, 'stopped')
      })()
      return stopping
    },
  }
}
