import express, { type Express } from 'express'
import type { Auth } from '../auth.js'
import { AuthError } from '../errors.js'
import { sendError, sendSuccess } from '../express/envelope.js'

/** Options of {@link createServerApp}. */
export interface ServerAppOptions {
  /** Express `trust proxy`. Default `false`: the client IP is the socket's. */
  trustProxy?: boolean | number | string
  /** Set while the server drains: `/readyz` answers 503 so that a balancer stops sending. */
  isShuttingDown?: () => boolean
}

/**
 * The ready server's Express app: the auth router at `/auth`, JWKS at the root, health and
 * readiness, and the envelope for everything else.
 */
export function createServerApp(auth: Auth, options: ServerAppOptions = {}): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', options.trustProxy ?? false)
  app.set('etag', false)
  app.get('/healthz', (_req, res) => {
    sendSuccess(res, 200, { status: 'ok' }, 'Up')
  })
  app.get('/readyz', async (_req, res) => {
    if (options.isShuttingDown?.()) {
      sendError(res, new AuthError('unavailable', 'Shutting down'))
      return
    }
    if (await auth.isReady()) sendSuccess(res, 200, { status: 'ready' }, 'Ready')
    else sendError(res, new AuthError('unavailable', 'Database is unavailable'))
  })
  app.get('/.well-known/jwks.json', auth.jwks())
  app.use(auth.options.basePath, auth.router())
  app.use(auth.notFound())
  app.use(auth.errorHandler())
  return app
}
