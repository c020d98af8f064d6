import { randomUUID } from 'node:crypto'
import type { ResolvedOptions } from '../config/options.js'
import { ConfigError } from '../errors.js'
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

/** Options of {@link createAccessToken}. */
export interface CreateAccessTokenOptions {
  /** Now, in epoch milliseconds. Default `Date.now()`. */
  now?: number
  /**
   * The app's own claims, already checked by `checkCustomClaims` (no reserved name, bounded
   * size). They go first, so that no standard claim could ever be overwritten. Default none.
   */
  claims?: Readonly<Record<string, unknown>>
}

/**
 * Signs an access token for `user` in `session` (with `jkt`, a DPoP-bound one) with the current key;
 * `amr` and `auth_time` are the session's, so that a refresh keeps them and only a new
 * authentication changes them. It lives
 * `accessTokenTtl`, but never past the session's absolute end: a token must not outlive the login
 * it stands for.
 */
export async function createAccessToken(
  options: ResolvedOptions,
  keys: KeyRing,
  user: UserRecord,
  session: Pick<SessionRecord, 'id' | 'expiresAt' | 'authTime' | 'amr'> & { jkt?: string | null },
  settings: CreateAccessTokenOptions = {},
): Promise<IssuedAccessToken> {
  const now = settings.now ?? Date.now()
  const key = keys.current
  const iat = Math.floor(now / 1000)
  const exp = Math.min(
    iat + Math.floor(options.accessTokenTtlMs / 1000),
    Math.floor(session.expiresAt / 1000),
  )
  const claims: AccessTokenClaims = {
    ...settings.claims,
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
  // A bound session's access tokens name its key (RFC 9449 §6.1): they work only with its proofs.
  if (session.jkt) claims.cnf = { jkt: session.jkt }
  const token = signCompactJWS({ alg: key.alg, typ: 'at+jwt', kid: key.kid }, claims, key.privateKey!)
  // Every reader refuses a longer token: better a clear error here than tokens nobody accepts.
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError(
      'claims',
      `the access token would be ${token.length} characters, over ${MAX_TOKEN_LENGTH}`,
    )
  }
  return { token, claims, expiresAt: exp * 1000 }
}

/**
 * The claims of `token` if {@link verifyAccessToken} accepted it before, it has not expired and
 * its key still stands (token-cache.ts): the same string, so the same signature, claims and
 * checks. Synchronous, so that a reused token costs no promise.
 */
export function lookUpVerifiedAccessToken(keys: KeyRing, token: string): AccessTokenClaims | undefined {
  return token.length <= MAX_TOKEN_LENGTH ? getTokenCache(keys).lookUp(token, keys, Date.now()) : undefined
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
  const cached = lookUpVerifiedAccessToken(keys, token)
  if (cached !== undefined) return cached
  const cache = getTokenCache(keys)
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
