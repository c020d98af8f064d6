import { randomUUID } from 'node:crypto'
import { compactVerify, type JWTPayload, jwtVerify, SignJWT } from 'jose'
import { AuthError } from '../errors.js'
import { sha256Hex } from '../internal/crypto.js'
import { isStrictCompactJWS } from '../security/strict-jws.js'
import { COMPACT_JWS, MAX_TOKEN_LENGTH, type RefreshTokenClaims } from './claims.js'
import type { KeyRing } from './keys.js'

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
  const token = await new SignJWT({ sub: userId, sid: sessionId, jti, iat, exp })
    .setProtectedHeader({ alg: 'HS256', typ: 'rt+jwt', kid: keys.refreshKid })
    .sign(keys.refreshKey)
  return { token, jti, tokenHash: hashRefreshToken(token), issuedAt: now, expiresAt: exp * 1000 }
}

/** What storage keeps of a refresh token: its SHA-256, never the token. */
export function hashRefreshToken(token: string): string {
  return sha256Hex(token)
}

function readClaims(payload: JWTPayload): RefreshTokenClaims {
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
  try {
    const { payload } = await jwtVerify(token, keys.refreshKey, {
      algorithms: ['HS256'],
      typ: 'rt+jwt',
      clockTolerance: Math.floor(options.clockToleranceMs / 1000),
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    })
    if (typeof payload.iat === 'number' && payload.iat * 1000 > Date.now() + options.clockToleranceMs) {
      throw new AuthError('invalid_refresh_token', 'Refresh token is issued in the future')
    }
    return readClaims(payload)
  } catch (error) {
    if (error instanceof AuthError) throw error
    throw new AuthError('invalid_refresh_token', 'Refresh token is invalid or expired')
  }
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
  try {
    const { payload, protectedHeader } = await compactVerify(token, keys.refreshKey, {
      algorithms: ['HS256'],
    })
    if (protectedHeader.typ !== 'rt+jwt') return null
    return readClaims(JSON.parse(new TextDecoder().decode(payload)) as JWTPayload)
  } catch {
    return null
  }
}
