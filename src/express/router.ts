import { type ErrorRequestHandler, type RequestHandler, Router } from 'express'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import { sendError } from './envelope.js'
import {
  changePasswordHandler,
  deleteSessionHandler,
  meHandler,
  sessionsHandler,
} from './handlers/account.js'
import { loginHandler, registerHandler } from './handlers/credentials.js'
import {
  emailVerifyHandler,
  emailVerifyRequestHandler,
  passwordResetHandler,
  passwordResetRequestHandler,
} from './handlers/email.js'
import { logoutAllHandler, logoutHandler } from './handlers/logout.js'
import { updateProfileHandler } from './handlers/profile.js'
import { refreshHandler } from './handlers/refresh.js'
import { jsonBody } from './json-body.js'
import { createServerRequireAuth } from './server-require-auth.js'

/** `GET /.well-known/jwks.json`: the public keys, a bare JWK Set (no envelope). */
export function jwksHandler(engine: Engine): RequestHandler {
  return function jwks(_req, res) {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.json(engine.keys.jwks)
  }
}

/** Answers `404 not_found` in the envelope. */
export function notFoundHandler(): RequestHandler {
  return function notFound(_req, res) {
    sendError(res, new AuthError('not_found', 'Not found'))
  }
}

/**
 * Errors that Express's own parts raise for bad input, mapped to API.md's codes. They carry a 4xx
 * `status`, and some (body-parser's) carry the raw body: they are never logged as bugs.
 */
function toRequestError(error: unknown): AuthError | null {
  if (typeof error !== 'object' || error === null) return null
  const { status, type } = error as { status?: unknown; type?: unknown }
  if (typeof status !== 'number' || status < 400 || status >= 500) return null
  if (type === 'entity.parse.failed') return new AuthError('malformed_json', 'Request body is not valid JSON')
  if (status === 413) return new AuthError('payload_too_large', 'Request body is larger than 16 KiB')
  if (status === 415) return new AuthError('unsupported_media_type', 'Request body must be application/json')
  // A path that does not decode (`%E0%A4%A`) names no resource.
  return new AuthError('not_found', 'Not found')
}

/**
 * Renders any error in the envelope. Bad input that Express itself refused gets its 4xx code;
 * anything else that is not an `AuthError` is a bug: it is logged with its name, message and stack
 * only (never the error's own fields, which may hold a request body) and answered `500
 * internal_error`.
 */
export function errorHandler(engine: Engine): ErrorRequestHandler {
  return function renderError(error: unknown, req, res, _next) {
    const known = error instanceof AuthError ? error : toRequestError(error)
    if (!known) {
      const err =
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : { message: String(error) }
      engine.options.logger.error({ err, method: req.method, path: req.path }, 'unhandled error')
    }
    if (res.headersSent) {
      res.end()
      return
    }
    sendError(res, known ?? error)
  }
}

/** Every route of API.md under the router's mount point (`/auth` by default). */
export function createAuthRouter(engine: Engine): Router {
  const router = Router()
  // The account routes check that the session is still live: a revoked session must not change a
  // profile, a password or another session during the rest of its access token's life.
  const authenticated = createServerRequireAuth(engine, { checkSession: true })
  router.use(jsonBody())
  router.post('/register', registerHandler(engine))
  router.post('/login', loginHandler(engine))
  const refresh = refreshHandler(engine)
  router.post('/refresh', refresh)
  router.post('/update-token', refresh)
  router.post('/logout', logoutHandler(engine))
  router.post('/logout-all', authenticated, logoutAllHandler(engine))
  router.get('/me', authenticated, meHandler(engine))
  router.patch('/me', authenticated, updateProfileHandler(engine))
  router.post('/email/verify/request', authenticated, emailVerifyRequestHandler(engine))
  router.post('/email/verify', emailVerifyHandler(engine))
  router.post('/password/reset/request', passwordResetRequestHandler(engine))
  router.post('/password/reset', passwordResetHandler(engine))
  router.post('/change-password', authenticated, changePasswordHandler(engine))
  router.get('/sessions', authenticated, sessionsHandler(engine))
  router.delete('/sessions/:id', authenticated, deleteSessionHandler(engine))
  router.get('/.well-known/jwks.json', jwksHandler(engine))
  router.use(notFoundHandler())
  router.use(errorHandler(engine))
  return router
}
