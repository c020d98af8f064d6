import { randomUUID } from 'node:crypto'
import { AuthError } from '../errors.js'
import { sha256Hex } from '../internal/crypto.js'
import { COMPACT_JWS, MAX_TOKEN_LENGTH, type RefreshTokenClaims } from './claims.js'
import { isType, signCompactJWS, verifyHS256CompactJWS } from './compact-jws.js'
import type { KeyRing } from './keys.js'
import { isStrictCompactJWS } from './strict-jws.js'

/** A signed refresh token with what storage keeps of it. */
export interface IssuedRefreshToken {
  token: string
  jti: string
  tokenHash: string
  issuedAt: number
  expiresAt: number
}

/** Signs a refresh token for session `sessionId` that expires at `expiresAt` (epoch ms). */
export async function createRefreshToken(
  keys: KeyRing,
  userId: string,
  sessionId: string,
  expiresAt: number,
  now = Date.now(),
): Promise<IssuedRefreshToken> {
  const jti = randomUUID()
  const iat = Math.floor(now / 1000)
  const exp = Math.floor(expiresAt / 1000)
  const token = signCompactJWS(
    { alg: 'HS256', typ: 'rt+jwt', kid: keys.refreshKid },
    { sub: userId, sid: sessionId, jti, iat, exp },
    keys.refreshKey,
  )
  return { token, jti, tokenHash: hashRefreshToken(token), issuedAt: now, expiresAt: exp * 1000 }
}

/** What storage keeps of a refresh token: its SHA-256, never the token. */
export function hashRefreshToken(token: string): string {
  return sha256Hex(token)
}

function readClaims(payload: Record<string, unknown>): RefreshTokenClaims {
  const { sub, sid, jti, iat, exp } = payload as Partial<Record<string, unknown>>
  if (
    typeof sub !== 'string' ||
    typeof sid !== 'string' ||
    typeof jti !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    throw new AuthError('invalid_refresh_token', 'Refresh token lacks required claims')
  }
  return { sub, sid, jti, iat, exp }
}

/**
 * Verifies a refresh token's signature, `typ: rt+jwt` and `exp` before any database work. Throws
 * `invalid_refresh_token`.
 */
export async function verifyRefreshToken(
  keys: KeyRing,
  token: string,
  options: { clockToleranceMs: number },
): Promise<RefreshTokenClaims> {
  // Strict shape (canonical base64url, no duplicated JSON names) before any crypto: RFC 8725.
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token) || !isStrictCompactJWS(token)) {
    throw new AuthError('invalid_refresh_token', 'Refresh token is malformed')
  }
  const verified = verifyHS256CompactJWS(token, keys.refreshKey)
  if (!verified || !isType(verified.header.typ, 'rt+jwt')) {
    throw new AuthError('invalid_refresh_token', 'Refresh token is invalid or expired')
  }
  const claims = readClaims(verified.payload)
  const now = Math.floor(Date.now() / 1000)
  const tolerance = Math.floor(options.clockToleranceMs / 1000)
  const nbf = verified.payload.nbf
  // jose's jwtVerify checks (in whole seconds, with the tolerance), and an `iat` not in the future.
  if (
    claims.exp <= now - tolerance ||
    claims.iat > now + tolerance ||
    (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance))
  ) {
    throw new AuthError('invalid_refresh_token', 'Refresh token is invalid or expired')
  }
  return claims
}

/**
 * Checks only the signature and `typ` of a refresh token, not its expiry: logout accepts an
 * expired token, since revoking its session is harmless. Returns `null` for anything not ours.
 */
export async function readSignedRefreshToken(
  keys: KeyRing,
  token: string,
): Promise<RefreshTokenClaims | null> {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token) || !isStrictCompactJWS(token)) return null
  const verified = verifyHS256CompactJWS(token, keys.refreshKey)
  if (!verified || !isType(verified.header.typ, 'rt+jwt')) return null
  try {
    return readClaims(verified.payload)
  } catch {
    return null
  }
}
