import { type ErrorRequestHandler, type RequestHandler, Router } from 'express'
import { AuthError } from '../errors.js'
import type { Engine } from '../internal/engine.js'
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
import { createServerRequireAuth } from './require-auth.js'

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
 * Renders any error in the envelope. Anything that is not an `AuthError` is a bug: it is logged
 * (with its stack, without the request's headers or body) and answered `500 internal_error`.
 */
export function errorHandler(engine: Engine): ErrorRequestHandler {
  return function renderError(error: unknown, req, res, _next) {
    if (!(error instanceof AuthError)) {
      engine.options.logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error')
    }
    if (res.headersSent) {
      res.end()
      return
    }
    sendError(res, error)
  }
}

/** Every route of API.md under the router's mount point (`/auth` by default). */
export function createAuthRouter(engine: Engine): Router {
  const router = Router()
  const authenticated = createServerRequireAuth(engine)
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
