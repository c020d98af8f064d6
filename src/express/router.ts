import { type ErrorRequestHandler, type RequestHandler, Router } from 'express'
import { z } from 'zod'
import { describeErrorForLog } from '../common/logger.js'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import {
  identityEntrySchema,
  jwkSetSchema,
  providerEntrySchema,
  publicUserSchema,
  revokedCountSchema,
  revokedSessionsSchema,
  sessionEntrySchema,
  tokenResponseSchema,
} from '../protocol/wire-schemas.js'
import { REVOCATION_FEED_CACHE_MS, readRevocationFeed } from '../sessions/revocation-feed.js'
import {
  changePasswordSchema,
  loginSchema,
  passwordResetRequestSchema,
  passwordResetSchema,
  registerSchema,
  unlinkIdentitySchema,
  updateProfileSchema,
  verifyEmailSchema,
} from '../users/user-schemas.js'
import { sendError } from './envelope.js'
import { MFA_ROUTES, PASSKEY_ROUTES } from './factor-routes.js'
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
import { deleteIdentityHandler, identitiesHandler } from './handlers/identities.js'
import { logoutAllHandler, logoutHandler } from './handlers/logout.js'
import { oidcCallbackHandler, oidcProvidersHandler, oidcStartHandler } from './handlers/oidc.js'
import { updateProfileHandler } from './handlers/profile.js'
import { refreshHandler } from './handlers/refresh.js'
import { jsonBody } from './json-body.js'
import {
  type BareRouteDefinition,
  defineBareRoute,
  defineRoute,
  mountRoutes,
  type RouteRow,
} from './route-table.js'
import { createServerRequireAuth } from './server-require-auth.js'

/** `GET /.well-known/jwks.json`: the public keys, a bare JWK Set (no envelope). */
export function jwksHandler(engine: Engine): RequestHandler {
  return function jwks(_req, res) {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.json(engine.keys.jwks)
  }
}

/**
 * `GET /.well-known/revoked-sessions`: the revocation feed other services poll, a bare body
 * (no envelope), public like the JWK Set: it lists session ids that no longer work, nothing more.
 */
export function revokedSessionsHandler(engine: Engine): RequestHandler {
  return async function revokedSessions(_req, res) {
    const feed = await readRevocationFeed(engine)
    res.setHeader('Cache-Control', `public, max-age=${Math.floor(REVOCATION_FEED_CACHE_MS / 1000)}`)
    res.json(feed)
  }
}

/** Answers `404 not_found` in the envelope. */
export function notFoundHandler(): RequestHandler {
  return function notFound(_req, res) {
    sendError(res, new AuthError('not_found', 'Not found'))
  }
}

/**
 * Errors that Express's own parts raise for bad input, mapped to the contract's codes. They carry a 4xx
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
      engine.options.logger.error(
        { err: describeErrorForLog(error), method: req.method, path: req.path },
        'unhandled error',
      )
    }
    if (res.headersSent) {
      res.end()
      return
    }
    sendError(res, known ?? error)
  }
}

/** `GET /.well-known/jwks.json`, in the auth router and at the server's root. */
export const JWKS_ROUTE = {
  method: 'get',
  path: '/.well-known/jwks.json',
  auth: 'none',
  summary: 'Public keys (JWK Set)',
  data: jwkSetSchema,
  bare: 'application/json',
  status: 200,
} as const satisfies Omit<BareRouteDefinition<unknown>, 'handler'>

/** `GET /.well-known/revoked-sessions`, in the auth router and at the server's root. */
export const REVOKED_SESSIONS_ROUTE = {
  method: 'get',
  path: '/.well-known/revoked-sessions',
  auth: 'none',
  summary: 'Sessions revoked within the access-token lifetime (the revocation feed)',
  data: revokedSessionsSchema,
  bare: 'application/json',
  status: 200,
} as const satisfies Omit<BareRouteDefinition<unknown>, 'handler'>

/**
 * The routes of the auth router, relative to its mount point (`/auth` by default). The router is
 * mounted from these rows and the OpenAPI document generated from them.
 */
export const AUTH_ROUTES: readonly RouteRow<Engine>[] = [
  defineRoute({
    method: 'post',
    path: '/register',
    auth: 'none',
    summary: 'Create a user and log in',
    body: registerSchema,
    data: tokenResponseSchema,
    status: 201,
    handler: registerHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/login',
    auth: 'none',
    summary: 'Log in by username or email',
    body: loginSchema,
    data: tokenResponseSchema,
    status: 200,
    handler: loginHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/refresh',
    auth: 'refresh',
    summary: 'Rotate the refresh token into a new pair',
    data: tokenResponseSchema,
    status: 200,
    handler: refreshHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/update-token',
    auth: 'refresh',
    summary: 'Same as /refresh (the reference design name)',
    data: tokenResponseSchema,
    status: 200,
    handler: refreshHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/logout',
    auth: 'refresh',
    summary: 'End the session of the refresh (or else access) token, if any, and clear the cookies',
    data: z.null(),
    status: 200,
    handler: logoutHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/logout-all',
    auth: 'access',
    summary: 'End every session of the user, the current one included, and clear the cookies',
    data: revokedCountSchema,
    status: 200,
    handler: logoutAllHandler,
  }),
  defineRoute({
    method: 'get',
    path: '/me',
    auth: 'access',
    summary: 'The current user',
    data: publicUserSchema,
    status: 200,
    handler: meHandler,
  }),
  defineRoute({
    method: 'patch',
    path: '/me',
    auth: 'access',
    summary: 'Update fullname and/or email',
    body: updateProfileSchema,
    data: publicUserSchema,
    status: 200,
    handler: updateProfileHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/email/verify/request',
    auth: 'access',
    summary: 'Mail a verification link',
    data: z.null(),
    status: 200,
    handler: emailVerifyRequestHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/email/verify',
    auth: 'none',
    summary: 'Verify the email address with a mailed token',
    body: verifyEmailSchema,
    data: publicUserSchema,
    status: 200,
    handler: emailVerifyHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/password/reset/request',
    auth: 'none',
    summary: 'Mail a password reset link',
    body: passwordResetRequestSchema,
    data: z.null(),
    status: 200,
    handler: passwordResetRequestHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/password/reset',
    auth: 'none',
    summary: 'Set a new password with a mailed token; ends every session',
    body: passwordResetSchema,
    data: z.null(),
    status: 200,
    handler: passwordResetHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/change-password',
    auth: 'access',
    summary: 'Change the password; ends the other sessions',
    body: changePasswordSchema,
    data: z.null(),
    status: 200,
    handler: changePasswordHandler,
  }),
  defineRoute({
    method: 'get',
    path: '/sessions',
    auth: 'access',
    summary: 'Active sessions, newest first',
    data: z.array(sessionEntrySchema),
    status: 200,
    handler: sessionsHandler,
  }),
  defineRoute({
    method: 'delete',
    path: '/sessions/:id',
    auth: 'access',
    summary: 'Revoke one of your sessions',
    data: z.null(),
    status: 200,
    handler: deleteSessionHandler,
  }),
  defineRoute({
    method: 'get',
    path: '/oidc/providers',
    auth: 'none',
    summary: 'The identity providers one can sign in with',
    data: z.array(providerEntrySchema),
    status: 200,
    handler: oidcProvidersHandler,
  }),
  defineBareRoute({
    method: 'get',
    path: '/oidc/:provider/start',
    auth: 'none',
    summary:
      'Redirect to the identity provider (authorization code, PKCE S256, state and nonce in a sealed cookie); `?link=1` with an access token links it to that user',
    query: z.object({
      returnTo: z
        .string()
        .optional()
        .describe('A path of this site (`/…`, not `//…`); anything else becomes `/`'),
      link: z.literal('1').optional().describe('Link the provider to the logged-in user'),
      dpop_jkt: z
        .string()
        .optional()
        .describe("RFC 7638 thumbprint of the client's DPoP key: the session opened is bound to it"),
    }),
    data: z.null(),
    bare: 'text/plain',
    status: 302,
    handler: oidcStartHandler,
  }),
  defineBareRoute({
    method: 'get',
    path: '/oidc/:provider/callback',
    auth: 'none',
    summary:
      'The provider redirects back here: sets the token cookies and redirects to returnTo; for a user with a second factor, no cookie but returnTo#mfa_token=<ticket>&methods=… (for POST /mfa/verify); a failure redirects to returnTo?error=<code> (oidc_failed, account_exists, identity_taken, email_missing, login_required, account_disabled, rate_limited, or the code of an app hook that refused)',
    query: z.object({
      code: z.string().optional(),
      state: z.string().optional(),
      iss: z.string().optional(),
      error: z.string().optional(),
    }),
    data: z.null(),
    bare: 'text/plain',
    status: 302,
    handler: oidcCallbackHandler,
  }),
  defineRoute({
    method: 'get',
    path: '/identities',
    auth: 'access',
    summary: 'Provider accounts linked to the user, oldest first',
    data: z.array(identityEntrySchema),
    status: 200,
    handler: identitiesHandler,
  }),
  defineRoute({
    method: 'delete',
    path: '/identities/:id',
    auth: 'access',
    summary:
      'Unlink a provider account (needs currentPassword, or a recent login without a password); 409 last_credential for the only way in',
    body: unlinkIdentitySchema,
    data: z.null(),
    status: 200,
    handler: deleteIdentityHandler,
  }),
  ...MFA_ROUTES,
  ...PASSKEY_ROUTES,
  defineBareRoute({ ...JWKS_ROUTE, handler: jwksHandler }),
  defineBareRoute({ ...REVOKED_SESSIONS_ROUTE, handler: revokedSessionsHandler }),
]

/** Every route of {@link AUTH_ROUTES} under the router's mount point (`/auth` by default). */
export function createAuthRouter(engine: Engine): Router {
  const router = Router()
  // The account routes check that the session is still live: a revoked session must not change a
  // profile, a password or another session during the rest of its access token's life.
  const authenticate = createServerRequireAuth(engine)
  router.use(jsonBody())
  mountRoutes(router, AUTH_ROUTES, engine, { authenticate })
  router.use(notFoundHandler())
  router.use(errorHandler(engine))
  return router
}
