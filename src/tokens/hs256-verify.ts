import type { JWTPayload } from 'jose'
import type { ResolvedOptions } from '../config/options.js'
import { AuthError } from '../errors.js'
import { decodeJOSEHeader, isType, verifyHS256CompactJWS } from './compact-jws.js'
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
  // The algorithm is the configuration's; the token's header can only agree with it. The header is
  // read here for its kid and handed on: alg, crit and the MAC are checked by verifyHS256CompactJWS.
  const header = options.algorithm === 'HS256' ? decodeJOSEHeader(token) : null
  if (header?.alg !== 'HS256' || !isType(header.typ, 'at+jwt')) throw invalid()
  const key = typeof header.kid === 'string' ? await keys.findOrReload(header.kid) : undefined
  if (key?.alg !== 'HS256') throw invalid('Access token is signed by an unknown key')
  const verified = verifyHS256CompactJWS(token, key.publicKey, header)
  if (!verified) throw invalid()
  const payload = verified.payload as JWTPayload
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
