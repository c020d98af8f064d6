import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { type Duration, resolveDuration } from '../common/duration.js'
import { AuthError, InsufficientUserAuthenticationError } from '../errors.js'
import type { CookieNames } from '../protocol/cookies.js'
import type { AccessTokenClaims } from '../tokens/claims.js'
import { assertSameOrigin, isStateChanging } from './csrf.js'
import { sendError } from './envelope.js'
import { readAccessToken } from './token-source.js'

/** What `requireAuth` puts on `req.auth`. */
export interface RequestAuth {
  userId: string
  sessionId: string
  claims: AccessTokenClaims
  /** Where the access token came from. */
  tokenFrom: 'header' | 'cookie'
}

declare global {
  namespace Express {
    interface Request {
      /** Set by `requireAuth()` once the access token is verified. */
      auth?: RequestAuth
    }
  }
}

/** Options of `requireAuth`. */
export interface RequireAuthOptions {
  /** The user needs at least one of these roles, else `403 forbidden`. Default: any role. */
  roles?: readonly string[]
  /**
   * Also refuse a token whose session was revoked (`401 session_revoked`): a logout, a reuse
   * detection or a disabled user reaches the route within `sessionCheckCacheTtl` (at once on the
   * instance that revoked it), at the cost of one cached storage read per session. Default `true`
   * for `createAuth`'s `requireAuth()`; `false` lets a revoked session's access tokens live until
   * they expire. The JWKS-only verifier has no storage and takes no such option.
   */
  checkSession?: boolean
  /** The user's email must be verified, else `403 email_unverified`. Default `false`. */
  verifiedEmail?: boolean
  /**
   * The session must have used two factors (or a passkey that verified the user): `mfa` in the
   * token's `amr`, else `401 insufficient_user_authentication` (RFC 9470). Default `false`.
   */
  mfa?: boolean
  /**
   * The session's last authentication (`auth_time`) must be at most this old (`'5m'`, or
   * milliseconds), else `401 insufficient_user_authentication` with `max_age` in
   * `WWW-Authenticate` (RFC 9470): the client logs in again, or re-authenticates. Default: any age.
   */
  maxAge?: Duration
}

/**
 * The step-up checks of `requireAuth({ mfa, maxAge })` on verified claims (RFC 9470). Throws
 * `insufficient_user_authentication`.
 */
export function assertUserAuthentication(
  claims: Pick<AccessTokenClaims, 'amr' | 'auth_time'>,
  demand: { mfa: boolean; maxAgeMs: number | null },
  now = Date.now(),
): void {
  if (demand.mfa && !(claims.amr ?? []).includes('mfa')) {
    throw new InsufficientUserAuthenticationError('This route needs a second factor')
  }
  if (demand.maxAgeMs === null) return
  const maxAgeSeconds = Math.floor(demand.maxAgeMs / 1000)
  if (claims.auth_time === undefined || Math.floor(now / 1000) - claims.auth_time > maxAgeSeconds) {
    throw new InsufficientUserAuthenticationError('This route needs a more recent login', { maxAgeSeconds })
  }
}

/** A verifier of access tokens: the server's own, or a JWKS-only one. */
export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims>

/** Options shared by every `requireAuth` factory. */
export interface RequireAuthDeps {
  verify: AccessTokenVerifier
  allowedOrigins: readonly string[]
  /** Whether the session is still active; absent where there is no storage (a JWKS-only verifier). */
  isSessionActive?: (sessionId: string, userId: string) => Promise<boolean>
  /** The token cookies' names under the configured prefix. Default: any prefix is accepted. */
  cookieNames?: CookieNames
}

/**
 * Builds the `requireAuth` middleware from a token verifier. Options are checked here, once; the
 * returned function does only the per-request work.
 */
export function createRequireAuth(deps: RequireAuthDeps, options: RequireAuthOptions = {}): RequestHandler {
  const roles = options.roles ? [...options.roles] : []
  if (roles.some((r) => typeof r !== 'string' || r === ''))
    throw new TypeError('requireAuth: roles must be non-empty strings')
  if (options.checkSession && !deps.isSessionActive) {
    throw new TypeError('requireAuth: checkSession needs the auth server storage')
  }
  const checkSession = options.checkSession === true
  const verifiedEmail = options.verifiedEmail === true
  const stepUp = {
    mfa: options.mfa === true,
    maxAgeMs:
      options.maxAge === undefined
        ? null
        : resolveDuration('requireAuth maxAge', options.maxAge, 0, { min: 1000 }),
  }
  const checkStepUp = stepUp.mfa || stepUp.maxAgeMs !== null

  return async function requireAuth(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const presented = readAccessToken(req, deps.cookieNames)
      if (!presented) throw new AuthError('missing_token', 'Access token is required')
      if (presented.from === 'cookie' && isStateChanging(req.method))
        assertSameOrigin(req, deps.allowedOrigins)
      const claims = await deps.verify(presented.token)
      if (checkSession && !(await deps.isSessionActive!(claims.sid, claims.sub))) {
        throw new AuthError('session_revoked', 'Session has been revoked')
      }
      if (roles.length > 0 && !roles.some((role) => claims.roles.includes(role))) {
        throw new AuthError('forbidden', 'You lack the role this route needs')
      }
      if (verifiedEmail && claims.email_verified !== true) {
        throw new AuthError('email_unverified', 'This route needs a verified email address')
      }
      if (checkStepUp) assertUserAuthentication(claims, stepUp)
      req.auth = {
        userId: claims.sub,
        sessionId: claims.sid,
        claims,
        tokenFrom: presented.from === 'cookie' ? 'cookie' : 'header',
      }
    } catch (error) {
      sendError(res, error)
      return
    }
    next()
  }
}
