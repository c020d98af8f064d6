import { randomUUID } from 'node:crypto'
import { AuthError } from '../errors.js'
import { sha256Hex } from '../internal/crypto.js'
import { checkTimeClaims, type RefreshTokenClaims, readRefreshTokenClaims } from './claims.js'
import { signCompactJWS } from './compact-jws.js'
import { verifyCompactJWS } from './jws-verify.js'
import type { KeyRing } from './keys.js'

/** A signed refresh token with what storage keeps of it. */
export interface IssuedRefreshToken {
  token: string
  jti: string
  tokenHash: string
  issuedAt: number
  expiresAt: number
}

/** Whom a refresh token is for: the user, the session, and the key of a DPoP-bound session. */
export interface RefreshTokenSubject {
  userId: string
  sessionId: string
  /** The thumbprint a refresh must prove (`cnf.jkt`), or `null` for an unbound session. */
  jkt: string | null
}

/**
 * Signs a refresh token for `subject` that expires at `expiresAt` (epoch ms). A bound session's
 * token carries `cnf.jkt`: the binding travels with the token, signed, from one rotation to the next.
 */
export async function createRefreshToken(
  keys: KeyRing,
  subject: RefreshTokenSubject,
  expiresAt: number,
  now = Date.now(),
): Promise<IssuedRefreshToken> {
  const jti = randomUUID()
  const iat = Math.floor(now / 1000)
  const exp = Math.floor(expiresAt / 1000)
  const claims: Record<string, unknown> = { sub: subject.userId, sid: subject.sessionId, jti, iat, exp }
  if (subject.jkt !== null) claims.cnf = { jkt: subject.jkt }
  const token = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt', kid: keys.refreshKid }, claims, keys.refreshKey)
  return { token, jti, tokenHash: hashRefreshToken(token), issuedAt: now, expiresAt: exp * 1000 }
}

/** What storage keeps of a refresh token: its SHA-256, never the token. */
export function hashRefreshToken(token: string): string {
  return sha256Hex(token)
}

/** Header, signature and claims of a refresh token: HS256 with the refresh key, `typ: rt+jwt`. */
async function verifyRefreshJWS(
  keys: KeyRing,
  token: string,
): Promise<{ claims: RefreshTokenClaims; payload: Record<string, unknown> }> {
  const { payload } = await verifyCompactJWS(token, {
    code: 'invalid_refresh_token',
    name: 'Refresh token',
    algorithms: ['HS256'],
    typ: 'rt+jwt',
    // One refresh key: the kid only names it, and is not needed to find it.
    findKey: () => keys.refreshVerificationKey,
  })
  const claims = readRefreshTokenClaims(payload)
  if (claims === null) throw new AuthError('invalid_refresh_token', 'Refresh token lacks required claims')
  return { claims, payload }
}

/**
 * Verifies a refresh token before any database work: the strict reading, HS256 with the refresh
 * key, `typ: rt+jwt`, its claims and their times (`exp`, `nbf`, `iat`, with the clock tolerance).
 * Throws `invalid_refresh_token`.
 */
export async function verifyRefreshToken(
  keys: KeyRing,
  token: string,
  options: { clockToleranceMs: number },
): Promise<RefreshTokenClaims> {
  const { claims, payload } = await verifyRefreshJWS(keys, token)
  if (checkTimeClaims(payload, Date.now(), options.clockToleranceMs) !== null) {
    throw new AuthError('invalid_refresh_token', 'Refresh token is invalid or expired')
  }
  return claims
}

/**
 * Checks a refresh token as {@link verifyRefreshToken} does, but not its times: logout accepts an
 * expired token, since revoking its session is harmless. Returns `null` for anything not ours.
 */
export async function readSignedRefreshToken(
  keys: KeyRing,
  token: string,
): Promise<RefreshTokenClaims | null> {
  try {
    return (await verifyRefreshJWS(keys, token)).claims
  } catch {
    return null
  }
}
