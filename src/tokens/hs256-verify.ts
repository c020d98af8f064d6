import { createHmac, timingSafeEqual } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { ResolvedOptions } from '../config/options.js'
import { AuthError } from '../errors.js'
import type { AccessKey, KeyRing } from './keys.js'

/** What {@link verifyHS256AccessJWT} returns: the claims and the key that verified them. */
export interface VerifiedHS256JWT {
  payload: JWTPayload
  key: AccessKey
}

/** Claims every access token must carry (the same list the jose path passes as `requiredClaims`). */
const REQUIRED_CLAIMS = ['sub', 'sid', 'jti', 'iat', 'exp'] as const

function invalid(message = 'Access token is invalid'): AuthError {
  return new AuthError('invalid_token', message)
}

/** jose's `typ` comparison: case-insensitive, `application/` prefix optional (RFC 7515 §4.1.9). */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase()
  return lower.includes('/') ? lower : `application/${lower}`
}

function decodeJSONObject(segment: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid()
  return value as Record<string, unknown>
}

/**
 * Verifies an HS256 access token with `node:crypto` directly, making every check that the jose
 * path makes with `jwtVerify(token, key, { algorithms: ['HS256'], typ: 'at+jwt', issuer, audience,
 * clockTolerance, requiredClaims })`. jose reaches HMAC through WebCrypto, which costs about 8×
 * a direct HMAC (bench/micro/verify.ts); EdDSA and the others gain nothing and stay on jose.
 *
 * The caller has already checked the size and the strict compact shape (canonical base64url, no
 * duplicated JSON names). Throws `token_expired` or `invalid_token`.
 *
 * @example
 * ```ts
 * const { payload } = await verifyHS256AccessJWT(token, keys, options)
 * ```
 */
export async function verifyHS256AccessJWT(
  token: string,
  keys: KeyRing,
  options: ResolvedOptions,
): Promise<VerifiedHS256JWT> {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 1 || second < 0 || token.indexOf('.', second + 1) !== -1) throw invalid()
  const header = decodeJSONObject(token.slice(0, first))
  // The algorithm is the configuration's; the token's header can only agree with it.
  if (header.alg !== 'HS256' || options.algorithm !== 'HS256') throw invalid()
  // No extension is understood, so any `crit` is refused (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw invalid()
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== 'application/at+jwt') throw invalid()
  const key = typeof header.kid === 'string' ? await keys.findOrReload(header.kid) : undefined
  if (key?.alg !== 'HS256') throw invalid('Access token is signed by an unknown key')

  const expected = createHmac('sha256', key.publicKey).update(token.slice(0, second)).digest()
  const signature = Buffer.from(token.slice(second + 1), 'base64url')
  // Constant-time comparison, so that the time taken says nothing about the expected MAC.
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid()

  const payload = decodeJSONObject(token.slice(first + 1, second)) as JWTPayload
  for (const claim of REQUIRED_CLAIMS) {
    if (payload[claim] === undefined) throw invalid()
  }
  if (payload.iss !== options.issuer) throw invalid()
  const aud = payload.aud
  if (!(aud === options.audience || (Array.isArray(aud) && aud.includes(options.audience)))) throw invalid()
  const now = Math.floor(Date.now() / 1000)
  const tolerance = Math.floor(options.clockToleranceMs / 1000)
  if (payload.iat !== undefined && typeof payload.iat !== 'number') throw invalid()
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + tolerance)) {
    throw invalid()
  }
  if (typeof payload.exp !== 'number') throw invalid()
  if (payload.exp <= now - tolerance) throw new AuthError('token_expired', 'Access token has expired')
  return { payload, key }
}
