import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AuthError } from '../errors.js'
import type { CookieNames } from '../protocol/cookies.js'
import type { AccessTokenClaims } from '../tokens/claims.js'
import type { ClaimsWith, NoClaims } from '../tokens/custom-claims.js'
import { assertSameOrigin, isStateChanging } from './csrf.js'
import { sendError } from './envelope.js'
import { readAccessToken } from './token-source.js'

/**
 * What `requireAuth` puts on `req.auth`. `C` is the type of the app's own claims: `req.auth`
 * itself does not know them (they are in `claims` all the same); `auth.readAuth(req)` (or the
 * verifier's) gives them typed.
 */
export interface RequestAuth<C extends object = NoClaims> {
  userId: string
  sessionId: string
  /** Every claim of the access token, the app's own (`claims` of `createAuth`) included. */
  claims: ClaimsWith<C>
  /** Where the access token came from. */
  tokenFrom: 'header' | 'cookie'
}

/**
 * `req.auth` with the app's claims typed `C`; `401 missing_token` where no `requireAuth()` ran
 * before (a route mounted without it).
 *
 * @example
 * ```ts
 * const { claims } = readRequestAuth<{ tenant: string }>(req)
 * ```
 */
export function readRequestAuth<C extends object>(req: Request): RequestAuth<C> {
  if (req.auth === undefined) throw new AuthError('missing_token', 'Access token is required')
  return req.auth as unknown as RequestAuth<C>
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
}

/**
 * A verifier of access tokens: the server's own, or a JWKS-only one. It may answer at once (a
 * token it verified before) or through a promise.
 */
export type AccessTokenVerifier = (token: string) => AccessTokenClaims | Promise<AccessTokenClaims>

/** Options shared by every `requireAuth` factory. */
export interface RequireAuthDeps {
  verify: AccessTokenVerifier
  allowedOrigins: readonly string[]
  /**
   * Whether the session is still active (at once from a cache, or through a promise); absent
   * where there is no storage (a JWKS-only verifier).
   */
  isSessionActive?: (sessionId: string, userId: string) => boolean | Promise<boolean>
  /** The token cookies' names under the configured prefix. Default: any prefix is accepted. */
  cookieNames?: CookieNames
}

function refuseRevoked(res: Response): void {
  sendError(res, new AuthError('session_revoked', 'Session has been revoked'))
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise
}

/**
 * Builds the `requireAuth` middleware from a token verifier. Options are checked here, once; the
 * returned function does only the per-request work. A token and session the caches know run
 * through it synchronously, without a promise; the others wait for the verifier and the storage.
 */
export function createRequireAuth(deps: RequireAuthDeps, options: RequireAuthOptions = {}): RequestHandler {
  const roles = options.roles ? [...options.roles] : []
  if (roles.some((r) => typeof r !== 'string' || r === ''))
    throw new TypeError('requireAuth: roles must be non-empty strings')
  if (options.checkSession && !deps.isSessionActive) {
    throw new TypeError('requireAuth: checkSession needs the auth server storage')
  }
  const isSessionActive = options.checkSession === true ? deps.isSessionActive! : null
  const verifiedEmail = options.verifiedEmail === true

  /** The checks after the signature's and the session's: roles, verified email; then `req.auth`. */
  function admit(
    req: Request,
    res: Response,
    next: NextFunction,
    claims: AccessTokenClaims,
    from: RequestAuth['tokenFrom'],
  ): void {
    try {
      if (roles.length > 0 && !roles.some((role) => claims.roles.includes(role))) {
        throw new AuthError('forbidden', 'You lack the role this route needs')
      }
      if (verifiedEmail && claims.email_verified !== true) {
        throw new AuthError('email_unverified', 'This route needs a verified email address')
      }
      req.auth = { userId: claims.sub, sessionId: claims.sid, claims, tokenFrom: from }
    } catch (error) {
      sendError(res, error)
      return
    }
    next()
  }

  /** The session check of a verified token, then {@link admit}. */
  function checkSession(
    req: Request,
    res: Response,
    next: NextFunction,
    claims: AccessTokenClaims,
    from: RequestAuth['tokenFrom'],
  ): undefined | Promise<void> {
    if (isSessionActive === null) {
      admit(req, res, next, claims, from)
      return
    }
    let active: boolean | Promise<boolean>
    try {
      active = isSessionActive(claims.sid, claims.sub)
    } catch (error) {
      sendError(res, error)
      return
    }
    if (!isPromise(active)) {
      if (active) admit(req, res, next, claims, from)
      else refuseRevoked(res)
      return
    }
    return active.then(
      (live) => (live ? admit(req, res, next, claims, from) : refuseRevoked(res)),
      (error: unknown) => sendError(res, error),
    )
  }

  // The promise of a request that waited is returned (Express awaits it, and so can a caller
  // that runs the middleware by hand); a request answered from the caches returns nothing.
  return function requireAuth(req: Request, res: Response, next: NextFunction): undefined | Promise<void> {
    let claims: AccessTokenClaims | Promise<AccessTokenClaims>
    let from: RequestAuth['tokenFrom']
    try {
      const presented = readAccessToken(req, deps.cookieNames)
      if (!presented) throw new AuthError('missing_token', 'Access token is required')
      if (presented.from === 'cookie' && isStateChanging(req.method))
        assertSameOrigin(req, deps.allowedOrigins)
      from = presented.from === 'cookie' ? 'cookie' : 'header'
      claims = deps.verify(presented.token)
    } catch (error) {
      sendError(res, error)
      return
    }
    if (!isPromise(claims)) return checkSession(req, res, next, claims, from)
    return claims.then(
      (verified) => checkSession(req, res, next, verified, from),
      (error: unknown) => sendError(res, error),
    )
  }
}
