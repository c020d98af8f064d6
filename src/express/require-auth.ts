import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AuthError } from '../errors.js'
import type { CookieNames } from '../protocol/cookies.js'
import type { AccessTokenClaims } from '../tokens/claims.js'
import { assertSameOrigin, isStateChanging } from './csrf.js'
import { type DPoPCheck, readDPoPHeader, verifyRequestProof } from './dpop.js'
import { sendError } from './envelope.js'
import { type PresentedToken, readAccessToken } from './token-source.js'

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

  return async function requireAuth(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const presented = readAccessToken(req, deps.cookieNames)
      if (!presented) throw new AuthError('missing_token', 'Access token is required')
      if (presented.from === 'cookie' && isStateChanging(req.method))
        assertSameOrigin(req, deps.allowedOrigins)
      // The verified-token cache may answer `verify`; the proof below is checked on every request.
      const claims = await deps.verify(presented.token)
      await assertSenderConstraint(req, presented, claims, deps.dpop)
      if (checkSession && !(await deps.isSessionActive!(claims.sid, claims.sub))) {
        throw new AuthError('session_revoked', 'Session has been revoked')
      }
      if (roles.length > 0 && !roles.some((role) => claims.roles.includes(role))) {
        throw new AuthError('forbidden', 'You lack the role this route needs')
      }
      if (verifiedEmail && claims.email_verified !== true) {
        throw new AuthError('email_unverified', 'This route needs a verified email address')
      }
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
