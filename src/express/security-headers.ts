import type { RequestHandler } from 'express'
import helmet from 'helmet'

/**
 * helmet's headers for the ready server, tuned for a JSON API: a content security policy that
 * allows nothing (the demo page sets its own, per response), no framing, no MIME sniffing, no
 * referrer, HSTS (ignored by browsers over plain http), same-origin resource policy (a route that
 * other origins may load, such as the client script, sets its own). Answers under
 * `noStorePrefix` (the auth routes) get `Cache-Control: no-store`.
 *
 * @example
 * ```ts
 * app.use(createSecurityHeaders({ noStorePrefix: '/auth' }))
 * ```
 */
export function createSecurityHeaders(options: { noStorePrefix?: string } = {}): RequestHandler {
  const noStorePrefix = options.noStorePrefix ?? null
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  })
  return function securityHeaders(req, res, next) {
    headers(req, res, (error?: unknown) => {
      if (error) {
        next(error)
        return
      }
      // Answers of the auth routes hold user data and tokens: never cached (RFC 6749 §5.1, OWASP).
      // A route that may be cached (JWKS) sets its own Cache-Control later, which wins.
      if (noStorePrefix !== null && req.path.startsWith(noStorePrefix))
        res.setHeader('Cache-Control', 'no-store')
      next()
    })
  }
}
