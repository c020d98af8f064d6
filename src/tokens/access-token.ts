import { randomUUID } from 'node:crypto'
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose'
import type { ResolvedOptions } from '../config/options.js'
import { AuthError } from '../errors.js'
import type { UserRecord } from '../storage/storage.js'
import { type AccessTokenClaims, COMPACT_JWS, MAX_TOKEN_LENGTH, readAccessTokenClaims } from './claims.js'
import { signCompactJWS } from './compact-jws.js'
import { verifyHS256AccessJWT } from './hs256-verify.js'
import type { AccessKey, KeyRing } from './keys.js'
import { isStrictCompactJWS } from './strict-jws.js'
import { getTokenCache } from './token-cache.js'

/** A signed access token and when it expires. */
export interface IssuedAccessToken {
  token: string
  claims: AccessTokenClaims
  expiresAt: number
}

/** Signs an access token for `user` in session `sessionId` with the current key. */
export async function createAccessToken(
  options: ResolvedOptions,
  keys: KeyRing,
  user: UserRecord,
  sessionId: string,
  now = Date.now(),
): Promise<IssuedAccessToken> {
  const key = keys.current
  const iat = Math.floor(now / 1000)
  const exp = iat + Math.floor(options.accessTokenTtlMs / 1000)
  const claims: AccessTokenClaims = {
    iss: options.issuer,
    aud: options.audience,
    sub: user.id,
    sid: sessionId,
    jti: randomUUID(),
    iat,
    exp,
    username: user.username,
    email: user.email,
    fullname: user.fullname,
    roles: user.roles,
    email_verified: user.emailVerified,
  }
  const token = signCompactJWS({ alg: key.alg, typ: 'at+jwt', kid: key.kid }, claims, key.privateKey!)
  return { token, claims, expiresAt: exp * 1000 }
}

/**
 * Verifies an access token: size and shape first, then the signature with the key its `kid`
 * names, the configured algorithm only (never the token's), `typ: at+jwt`, `iss`, `aud`, `exp`,
 * `nbf` and an `iat` not in the future. Throws `token_expired` or `invalid_token`.
 */
export async function verifyAccessToken(
  options: ResolvedOptions,
  keys: KeyRing,
  token: string,
): Promise<AccessTokenClaims> {
  // A token that passed every check below is served from memory until its exp, while its key
  // stands (token-cache.ts): the same string, so the same signature, claims and checks.
  const cache = getTokenCache(keys)
  const cached = token.length <= MAX_TOKEN_LENGTH ? cache.lookUp(token, keys, Date.now()) : undefined
  if (cached !== undefined) return cached
  // Strict shape (canonical base64url, no duplicated JSON names) before any crypto: RFC 8725.
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token) || !isStrictCompactJWS(token)) {
    throw new AuthError('invalid_token', 'Access token is malformed')
  }
  let payload: JWTPayload
  let verifiedBy: AccessKey | undefined
  if (options.algorithm === 'HS256') {
    // Same checks, direct HMAC: jose's WebCrypto HMAC costs about 8× (hs256-verify.ts).
    const verified = await verifyHS256AccessJWT(token, keys, options)
    payload = verified.payload
    verifiedBy = verified.key
  } else {
    try {
      const result = await jwtVerify(
        token,
        async (header) => {
          // An unknown kid may be a key rotated in by another instance: findOrReload re-reads storage.
          const key = header.kid === undefined ? undefined : await keys.findOrReload(header.kid)
          if (!key) throw new AuthError('invalid_token', 'Access token is signed by an unknown key')
          verifiedBy = key
          return key.verifyKey
        },
        {
          algorithms: [options.algorithm],
          typ: 'at+jwt',
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: Math.floor(options.clockToleranceMs / 1000),
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
        },
      )
      payload = result.payload
    } catch (error) {
      if (error instanceof AuthError) throw error
      if (error instanceof joseErrors.JWTExpired) {
        throw new AuthError('token_expired', 'Access token has expired')
      }
      throw new AuthError('invalid_token', 'Access token is invalid')
    }
  }
  const claims = readAccessTokenClaims(payload, Date.now(), options.clockToleranceMs)
  if (verifiedBy) cache.remember(token, claims, verifiedBy.kid, verifiedBy.publicKey)
  return claims
}
