import express, { type Express } from 'express'
import type { Logger } from 'pino'
import type { Auth } from '../auth.js'
import { createCORS } from '../express/cors.js'
import { mountRoutes } from '../express/route-table.js'
import { createSecurityHeaders } from '../express/security-headers.js'
import { createDemoPageRouter } from '../express/web-pages.js'
import { createRequestLogger } from './logging.js'
import { createServerMetrics, type ServerMetrics } from './metrics.js'
import { createOpenAPIDocument } from './openapi.js'
import { ROOT_ROUTES } from './root-routes.js'

/** Options of {@link createServerApp}. */
export interface ServerAppOptions {
  /** Express `trust proxy`. Default `false`: the client IP is the socket's. */
  trustProxy?: boolean | number | string
  /** Set while the server drains: `/readyz` answers 503 so that a balancer stops sending. */
  isShuttingDown?: () => boolean
  /** pino logger for one JSON line per request (see `createLogger`). Default: no request log. */
  logger?: Logger
  /**
   * Metrics to serve at `/metrics`; the caller feeds them `auth.events`. Default: a new set without
   * process metrics, subscribed to `auth.events` here.
   */
  metrics?: ServerMetrics
  /** Serve the demo page at `/` (`DEMO_PAGE`). Default `false` here; the ready server turns it on. */
  demoPage?: boolean
}

/**
 * The ready server's Express app: the auth router at `/auth`, its own routes at the root (health,
 * readiness, metrics, the OpenAPI document, JWKS, the client script), and the envelope for
 * everything else.
 */
export function createServerApp(auth: Auth, options: ServerAppOptions = {}): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', options.trustProxy ?? false)
  app.set('etag', false)
  // helmet's headers, and CORS with credentials for ALLOWED_ORIGINS only (docs/security.md).
  app.use(createSecurityHeaders({ noStorePrefix: auth.options.basePath }))
  app.use(createCORS(auth.options.allowedOrigins))
  if (options.logger) app.use(createRequestLogger(options.logger))
  const metrics = options.metrics ?? createServerMetrics({ basePath: auth.options.basePath })
  if (!options.metrics) auth.events.subscribe((event) => metrics.countEvent(event))
  app.use(metrics.measureRequests())
  app.use(function closeWhileDraining(_req, res, next) {
    // While draining, each answer closes its keep-alive connection, so that no client sends on it again.
    if (options.isShuttingDown?.()) res.setHeader('Connection', 'close')
    next()
  })
  const openapi = JSON.stringify(createOpenAPIDocument({ basePath: auth.options.basePath }))
  mountRoutes(app, ROOT_ROUTES, { auth, metrics, isShuttingDown: options.isShuttingDown, openapi })
  if (options.demoPage) app.use(createDemoPageRouter())
  app.use(auth.options.basePath, auth.router())
  app.use(auth.notFound())
  app.use(auth.errorHandler())
  return app
}
