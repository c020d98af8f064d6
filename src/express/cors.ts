import type { RequestHandler } from 'express'

/** Methods a cross-origin page may use on the auth routes. */
const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE'
/** Request headers a cross-origin page may send: the bearer token, JSON, the auth mode. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, DPoP, X-Auth-Mode, X-Request-Id'
/** How long a browser may reuse a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600'

/**
 * CORS for the origins in `allowedOrigins` (`ALLOWED_ORIGINS`) only, with credentials, so that a
 * front end on another origin can call the auth routes with its cookies. The origin is echoed
 * only when it is on the list: never `*`, never a reflected stranger (which, with credentials,
 * would let any site read a logged-in user's answers). `Vary: Origin` keeps caches honest.
 * Cookie-borne state changes still pass the CSRF origin check (csrf.ts) on their own.
 *
 * @example
 * ```ts
 * app.use(createCORS(['https://app.example.com']))
 * ```
 */
export function createCORS(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins)
  return function cors(req, res, next) {
    res.vary('Origin')
    const origin = req.headers.origin
    const isAllowed = typeof origin === 'string' && allowed.has(origin)
    if (isAllowed) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Access-Control-Allow-Credentials', 'true')
      res.setHeader(
        'Access-Control-Expose-Headers',
        'DPoP-Nonce, Retry-After, WWW-Authenticate, X-Request-Id',
      )
    }
    const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined
    if (!isPreflight) {
      next()
      return
    }
    if (isAllowed) {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS)
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS)
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE)
    }
    // A refused preflight is answered too, without the allow headers: the browser then blocks.
    res.status(204).end()
  }
}
