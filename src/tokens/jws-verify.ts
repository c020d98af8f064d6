import type { AccessTokenAlgorithm } from '../common/algorithms.js'
import { AuthError } from '../errors.js'
import { type VerificationKey, verifyJWSSignatureAsync } from './compact-jws.js'
import { readCompactJWS } from './jws-reader.js'

/** What a kind of token must be for {@link verifyCompactJWS} to accept it. */
export interface JWSExpectations<K extends VerificationKey> {
  /** The code of every refusal: `invalid_token`, `invalid_refresh_token`. */
  code: 'invalid_token' | 'invalid_refresh_token'
  /** What the token is called in error messages: `Access token`. */
  name: string
  /** Algorithms accepted, from the configuration: a token's `alg` header can only agree with it. */
  algorithms: readonly AccessTokenAlgorithm[]
  /** The `typ` header required (`at+jwt`), compared as {@link isType} does. */
  typ: string
  /**
   * The key that checks a token with this header (whose `alg` is one of `algorithms`, `typ` right,
   * no `crit`); `undefined` refuses the token. May throw an `AuthError` of its own (`unavailable`).
   */
  findKey(header: Record<string, unknown>): K | undefined | Promise<K | undefined>
}

/** A token whose header and signature passed {@link verifyCompactJWS}; its claims are not checked yet. */
export interface VerifiedJWS<K extends VerificationKey> {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  /** The key that checked the signature. */
  key: K
}

/**
 * Whether a `typ` header names `expected` (`rt+jwt`), compared as jose does: case-insensitive,
 * `application/` optional.
 *
 * @example
 * ```ts
 * isType('application/AT+JWT', 'at+jwt') // true
 * ```
 */
export function isType(typ: unknown, expected: string): boolean {
  if (typeof typ !== 'string') return false
  const lower = typ.toLowerCase()
  return (lower.includes('/') ? lower : `application/${lower}`) === `application/${expected}`
}

/**
 * Reads `token` once (readCompactJWS: size, shape, canonical base64url, UTF-8 JSON objects without
 * duplicated names) and checks its header and signature: an `alg` among the configured ones
 * (never `none`, never one the configuration does not name), the `typ` of its kind, no `crit`
 * (no extension is understood, RFC 7515 §4.1.11), a key from `findKey` made for that very `alg`,
 * and a signature that key made (checked on libuv's thread pool for the asymmetric algorithms,
 * compact-jws.ts). Throws `AuthError(expectations.code)`. The claims are the caller's
 * to check (claims.ts).
 *
 * @example
 * ```ts
 * const { payload, key } = await verifyCompactJWS(token, {
 *   code: 'invalid_token', name: 'Access token', algorithms: ['EdDSA'], typ: 'at+jwt',
 *   findKey: (header) => (typeof header.kid === 'string' ? keys.find(header.kid) : undefined),
 * })
 * ```
 */
export async function verifyCompactJWS<K extends VerificationKey>(
  token: string,
  expectations: JWSExpectations<K>,
): Promise<VerifiedJWS<K>> {
  const { code, name } = expectations
  const jws = readCompactJWS(token)
  if (jws === null) throw new AuthError(code, `${name} is malformed`)
  const { header } = jws
  if (
    !expectations.algorithms.includes(header.alg as AccessTokenAlgorithm) ||
    !isType(header.typ, expectations.typ) ||
    header.crit !== undefined
  ) {
    throw new AuthError(code, `${name} is invalid`)
  }
  const key = await expectations.findKey(header)
  if (key === undefined) throw new AuthError(code, `${name} is signed by an unknown key`)
  // The key's own algorithm, not only the header's: a key never checks another algorithm's tokens.
  if (key.alg !== header.alg || !(await verifyJWSSignatureAsync(jws, key)))
    throw new AuthError(code, `${name} is invalid`)
  return { header, payload: jws.payload, key }
}
