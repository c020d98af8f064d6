import { randomUUID } from 'node:crypto'
import type { ResolvedOptions } from '../config/options.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import { type AccessTokenClaims, readAccessTokenClaims } from './claims.js'
import { signCompactJWS } from './compact-jws.js'
import { MAX_TOKEN_LENGTH } from './jws-reader.js'
import { verifyCompactJWS } from './jws-verify.js'
import type { KeyRing } from './keys.js'
import { getTokenCache } from './token-cache.js'

/** A signed access token and when it expires. */
export interface IssuedAccessToken {
  token: string
  claims: AccessTokenClaims
  expiresAt: number
}

/**
 * Signs an access token for `user` in `session` with the current key; `amr` and `auth_time` are the
 * session's, so that a refresh keeps them and only a new authentication changes them. It lives
 * `accessTokenTtl`, but never past the session's absolute end: a token must not outlive the login
 * it stands for.
 */
export async function createAccessToken(
  options: ResolvedOptions,
  keys: KeyRing,
  user: UserRecord,
  session: Pick<SessionRecord, 'id' | 'expiresAt' | 'authTime' | 'amr'>,
  now = Date.now(),
): Promise<IssuedAccessToken> {
  const key = keys.current
  const iat = Math.floor(now / 1000)
  const exp = Math.min(
    iat + Math.floor(options.accessTokenTtlMs / 1000),
    Math.floor(session.expiresAt / 1000),
  )
  const claims: AccessTokenClaims = {
    iss: options.issuer,
    aud: options.audience,
    sub: user.id,
    sid: session.id,
    jti: randomUUID(),
    iat,
    exp,
    username: user.username,
    email: user.email,
    fullname: user.fullname,
    roles: user.roles,
    email_verified: user.emailVerified,
    amr: [...session.amr],
    auth_time: Math.floor(session.authTime / 1000),
  }
  const token = signCompactJWS({ alg: key.alg, typ: 'at+jwt', kid: key.kid }, claims, key.privateKey!)
  return { token, claims, expiresAt: exp * 1000 }
}

/**
 * Verifies an access token: read once and strictly (jws-reader.ts), then the header (the
 * configured algorithm only, never the token's; `typ: at+jwt`; no `crit`), the signature with the
 * key its `kid` names (re-reading the keys for a kid not known yet), and the claims (claims.ts:
 * shape, `iss`, `aud`, `exp`, `nbf`, `iat`). Throws `token_expired` or `invalid_token`.
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
  const { payload, key } = await verifyCompactJWS(token, {
    code: 'invalid_token',
    name: 'Access token',
    algorithms: [options.algorithm],
    typ: 'at+jwt',
    // An unknown kid may be a key rotated in by another instance: findOrReload re-reads storage.
    findKey: (header) => (typeof header.kid === 'string' ? keys.findOrReload(header.kid) : undefined),
  })
  const claims = readAccessTokenClaims(payload, options)
  cache.remember(token, claims, key.kid, key.publicKey)
  return claims
}
