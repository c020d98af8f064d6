import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { type Duration, resolveDuration } from '../common/duration.js'
import { AuthError, InsufficientUserAuthenticationError } from '../errors.js'
import type { CookieNames } from '../protocol/cookies.js'
import type { AccessTokenClaims } from '../tokens/claims.js'
import type { ClaimsWith, NoClaims } from '../tokens/custom-claims.js'
import { assertSameOrigin, isStateChanging } from './csrf.js'
import { type DPoPCheck, readDPoPHeader, verifyRequestProof } from './dpop.js'
import { sendError } from './envelope.js'
import { type PresentedToken, readAccessToken } from './token-source.js'

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
  /** Where accepted DPoP proofs are remembered, and the clock leeway of their `iat`. */
  dpop: Omit<DPoPCheck, 'mode'>
}

/**
 * RFC 9449 §7: a token bound to a key (`cnf.jkt`) counts only with a proof by that key for this
 * request and this token (`ath`); sent as `Bearer` it is refused, as is an unbound token sent as
 * `DPoP`. A bound token from the cookie needs the proof too.
 */
async function assertSenderConstraint(
  req: Request,
  presented: PresentedToken,
  claims: AccessTokenClaims,
  dpop: RequireAuthDeps['dpop'],
): Promise<void> {
  const bound = claims.cnf?.jkt
  if (bound === undefined) {
    if (presented.scheme === 'DPoP')
      throw new AuthError('invalid_token', 'This access token is not DPoP-bound')
    return
  }
  if (presented.scheme === 'Bearer') {
    throw new AuthError('invalid_token', 'A DPoP-bound access token must be sent as Authorization: DPoP')
  }
  const proof = readDPoPHeader(req)
  if (proof === null)
    throw new AuthError('invalid_dpop_proof', 'A DPoP-bound access token needs a DPoP proof')
  // `ath` binds the proof to a token in Authorization; a browser cannot read its HttpOnly cookie to
  // hash it, so a cookie-borne token is bound by the key alone (the proof still names this request).
  const accessToken = presented.from === 'header' ? presented.token : undefined
  const { jkt } = await verifyRequestProof(req, proof, { ...dpop, mode: 'optional' }, accessToken)
  if (jkt !== bound) throw new AuthError('invalid_dpop_proof', 'The DPoP proof is by another key')
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
  const stepUp = {
    mfa: options.mfa === true,
    maxAgeMs:
      options.maxAge === undefined
        ? null
        : resolveDuration('requireAuth maxAge', options.maxAge, 0, { min: 1000 }),
  }
  const checkStepUp = stepUp.mfa || stepUp.maxAgeMs !== null

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
      if (checkStepUp) assertUserAuthentication(claims, stepUp)
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

  /**
   * The sender constraint of a verified token, then {@link checkSession}. An unbound token sent as
   * `Bearer` stays on the synchronous path; a proof is checked on every request, also for a token
   * the verified-token cache knows.
   */
  function checkSender(
    req: Request,
    res: Response,
    next: NextFunction,
    presented: PresentedToken,
    claims: AccessTokenClaims,
  ): undefined | Promise<void> {
    const from = presented.from === 'cookie' ? 'cookie' : 'header'
    if (claims.cnf?.jkt === undefined && presented.scheme !== 'DPoP')
      return checkSession(req, res, next, claims, from)
    return assertSenderConstraint(req, presented, claims, deps.dpop).then(
      () => checkSession(req, res, next, claims, from),
      (error: unknown) => sendError(res, error),
    )
  }

  // The promise of a request that waited is returned (Express awaits it, and so can a caller
  // that runs the middleware by hand); a request answered from the caches returns nothing.
  return function requireAuth(req: Request, res: Response, next: NextFunction): undefined | Promise<void> {
    let claims: AccessTokenClaims | Promise<AccessTokenClaims>
    let presented: PresentedToken | null
    try {
      presented = readAccessToken(req, deps.cookieNames)
      if (!presented) throw new AuthError('missing_token', 'Access token is required')
      if (presented.from === 'cookie' && isStateChanging(req.method))
        assertSameOrigin(req, deps.allowedOrigins)
      claims = deps.verify(presented.token)
    } catch (error) {
      sendError(res, error)
      return
    }
    const token = presented
    if (!isPromise(claims)) return checkSender(req, res, next, token, claims)
    return claims.then(
      (verified) => checkSender(req, res, next, token, verified),
      (error: unknown) => sendError(res, error),
    )
  }
}
