import { ConfigError } from '../errors.js'
import { RESERVED_CLAIMS } from '../protocol/reserved-claims.js'
import type { AccessTokenClaims } from './claims.js'

export {
  type ClaimValue,
  type CustomClaims,
  type NoClaims,
  RESERVED_CLAIMS,
  type ReservedClaim,
} from '../protocol/reserved-claims.js'

/**
 * Largest custom claims, as JSON, in bytes: with the standard claims and the signature the token
 * stays well under the 8 KiB every reader accepts (`MAX_TOKEN_LENGTH`), and under the cookie
 * size browsers keep (4 KiB per cookie).
 */
export const MAX_CUSTOM_CLAIMS_BYTES = 2048

const RESERVED: ReadonlySet<string> = new Set(RESERVED_CLAIMS)

/**
 * Checks what the app's `claims` function returned: a plain object, no reserved name, JSON
 * values only (no `undefined` inside arrays, no functions, no cycles), at most
 * {@link MAX_CUSTOM_CLAIMS_BYTES} as JSON. Members that are `undefined` are dropped. Throws a
 * {@link ConfigError} naming `claims`: the app's code is at fault, not the request.
 *
 * @example
 * ```ts
 * checkCustomClaims({ tenant: 't1' }) // { tenant: 't1' }
 * checkCustomClaims({ sub: 'x' })     // throws ConfigError: claims: "sub" is reserved
 * ```
 */
export function checkCustomClaims(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('claims', 'must return a plain object of claims')
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    throw new ConfigError('claims', 'must return a plain object of claims')
  }
  const claims: Record<string, unknown> = {}
  for (const [name, claim] of Object.entries(value)) {
    if (RESERVED.has(name)) {
      throw new ConfigError('claims', `${JSON.stringify(name)} is reserved and cannot be set by the app`)
    }
    if (claim === undefined) continue
    claims[name] = claim
  }
  let json: string
  try {
    json = JSON.stringify(claims, (_key, v: unknown) => {
      if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint' || v === undefined) {
        throw new TypeError('not a JSON value')
      }
      if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError('not a JSON value')
      return v
    })
  } catch {
    throw new ConfigError(
      'claims',
      'must return JSON values only (strings, numbers, booleans, null, arrays, objects)',
    )
  }
  const bytes = Buffer.byteLength(json)
  if (bytes > MAX_CUSTOM_CLAIMS_BYTES) {
    throw new ConfigError(
      'claims',
      `returned ${bytes} bytes of JSON; at most ${MAX_CUSTOM_CLAIMS_BYTES} fit in a token`,
    )
  }
  return claims
}

/** The claims of an access token of an app whose own claims are `C`. */
export type ClaimsWith<C> = [keyof C] extends [never] ? AccessTokenClaims : AccessTokenClaims & C
