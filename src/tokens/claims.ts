import { AuthError } from '../errors.js'

/** The claims of an access token (docs/api.md "Tokens"). */
export interface AccessTokenClaims {
  iss: string
  aud: string
  /** User id. */
  sub: string
  /** Session id. */
  sid: string
  jti: string
  iat: number
  exp: number
  username: string
  email: string
  fullname: string
  roles: string[]
  /** Whether the user's email address is verified. */
  email_verified?: boolean
  /** Of a DPoP-bound session (RFC 9449 §6.1): the thumbprint of the key every use must prove. */
  cnf?: { jkt: string }
  /**
   * How the session authenticated (RFC 8176 method values): `pwd`, `otp`, `hwk`, `fed`, and `mfa`
   * when two factors were used or a passkey verified the user. An open list. Absent only on tokens
   * issued before it existed.
   */
  amr?: string[]
  /** When the session last authenticated, in seconds (OpenID Connect `auth_time`). */
  auth_time?: number
}

/** The claims of a refresh token. */
export interface RefreshTokenClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
  /** Of a DPoP-bound session: the thumbprint of the key a refresh must prove. */
  cnf?: { jkt: string }
}

/**
 * The `cnf` claim of a payload: absent (`undefined`), a well-formed `{jkt}`, or `null` when it is
 * present but malformed (the token is then refused: a binding must never be mistaken for none).
 */
export function readConfirmation(payload: Record<string, unknown>): { jkt: string } | undefined | null {
  if (!Object.hasOwn(payload, 'cnf')) return undefined
  const cnf = payload.cnf as { jkt?: unknown } | null
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return null
  return typeof cnf.jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(cnf.jkt) ? { jkt: cnf.jkt } : null
}

/** The type a claim must have; with `?` it may also be absent. */
export type ClaimType = 'string' | 'number' | 'boolean' | 'string[]'
/** Claim names and their types, for {@link hasClaimShape}. */
export type ClaimShape = Readonly<Record<string, ClaimType | `${ClaimType}?`>>

/** What every access token carries (`iss` and `aud` are compared to the configuration instead). */
export const ACCESS_TOKEN_SHAPE = {
  sub: 'string',
  sid: 'string',
  jti: 'string',
  iat: 'number',
  exp: 'number',
  username: 'string',
  email: 'string',
  fullname: 'string',
  roles: 'string[]',
  email_verified: 'boolean?',
  amr: 'string[]?',
  auth_time: 'number?',
} as const satisfies ClaimShape

/** What every refresh token carries. */
export const REFRESH_TOKEN_SHAPE = {
  sub: 'string',
  sid: 'string',
  jti: 'string',
  iat: 'number',
  exp: 'number',
} as const satisfies ClaimShape

function hasType(value: unknown, type: ClaimType): boolean {
  switch (type) {
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
    case 'number':
      // JSON reads 1e400 as Infinity: an exp that would never come.
      return typeof value === 'number' && Number.isFinite(value)
    default:
      return typeof value === type
  }
}

/**
 * Whether `payload` has every claim of `shape` with its type (own members only; a `?` claim may be
 * absent). The one shape guard of every token kind.
 *
 * @example
 * ```ts
 * hasClaimShape(payload, REFRESH_TOKEN_SHAPE)
 * ```
 */
export function hasClaimShape(payload: Record<string, unknown>, shape: ClaimShape): boolean {
  for (const name in shape) {
    const type = shape[name]!
    const present = Object.hasOwn(payload, name)
    if (type.endsWith('?')) {
      if (present && !hasType(payload[name], type.slice(0, -1) as ClaimType)) return false
    } else if (!present || !hasType(payload[name], type as ClaimType)) return false
  }
  return true
}

/** What is wrong with a token's time claims (see {@link checkTimeClaims}). */
export type TimeClaimsRefusal = 'expired' | 'not_yet_valid' | 'mistyped'

/**
 * The one check of `exp`, `nbf` and `iat`, as jose makes it, in whole seconds with `toleranceMs`
 * of clock skew either way: `nbf` and `iat` no later than now + tolerance, `exp` later than
 * now − tolerance. A claim that is absent is not checked (the shape says which are required);
 * one that is not a finite number is refused. Returns `null` when all is well.
 *
 * @example
 * ```ts
 * checkTimeClaims(payload, Date.now(), 5000) // 'expired' | 'not_yet_valid' | 'mistyped' | null
 * ```
 */
export function checkTimeClaims(
  payload: Record<string, unknown>,
  now: number,
  toleranceMs: number,
): TimeClaimsRefusal | null {
  const { nbf, iat, exp } = payload
  const isTime = (value: unknown) => value === undefined || hasType(value, 'number')
  if (!isTime(nbf) || !isTime(iat) || !isTime(exp)) return 'mistyped'
  const seconds = Math.floor(now / 1000)
  const tolerance = Math.floor(toleranceMs / 1000)
  if (nbf !== undefined && (nbf as number) > seconds + tolerance) return 'not_yet_valid'
  if (exp !== undefined && (exp as number) <= seconds - tolerance) return 'expired'
  if (iat !== undefined && (iat as number) > seconds + tolerance) return 'not_yet_valid'
  return null
}

/** What an access token is checked against: the configuration of the server or the verifier. */
export interface AccessTokenExpectations {
  /** Expected `iss`. */
  issuer: string
  /** Expected `aud`: the claim, or one member of it when it is an array. */
  audience: string
  /** Clock skew tolerated for `exp`, `nbf` and `iat`, in milliseconds. */
  clockToleranceMs: number
}

function invalid(message: string): AuthError {
  return new AuthError('invalid_token', message)
}

/**
 * The claims of an access token whose header and signature were verified (verifyCompactJWS):
 * their shape, `iss`, `aud` and the time claims. Shared by the server and the JWKS-only verifier,
 * so that both refuse the same tokens. Throws `token_expired` or `invalid_token`.
 *
 * @example
 * ```ts
 * const claims = readAccessTokenClaims(payload, { issuer, audience, clockToleranceMs: 5000 })
 * ```
 */
export function readAccessTokenClaims(
  payload: Record<string, unknown>,
  expected: AccessTokenExpectations,
  now = Date.now(),
): AccessTokenClaims {
  if (!hasClaimShape(payload, ACCESS_TOKEN_SHAPE)) throw invalid('Access token lacks required claims')
  const aud = payload.aud
  if (
    payload.iss !== expected.issuer ||
    !(aud === expected.audience || (Array.isArray(aud) && aud.includes(expected.audience)))
  ) {
    throw invalid('Access token is for another issuer or audience')
  }
  const time = checkTimeClaims(payload, now, expected.clockToleranceMs)
  if (time === 'expired') throw new AuthError('token_expired', 'Access token has expired')
  if (time !== null) throw invalid('Access token is not valid yet')
  if (readConfirmation(payload) === null) throw invalid('Access token has a malformed cnf claim')
  return payload as unknown as AccessTokenClaims
}

/**
 * The claims of a refresh token whose header and signature were verified, or `null` when one is
 * missing or mistyped. The time claims are the caller's: logout accepts an expired token.
 *
 * @example
 * ```ts
 * const claims = readRefreshTokenClaims(payload)
 * ```
 */
export function readRefreshTokenClaims(payload: Record<string, unknown>): RefreshTokenClaims | null {
  if (!hasClaimShape(payload, REFRESH_TOKEN_SHAPE)) return null
  const cnf = readConfirmation(payload)
  if (cnf === null) return null
  const { sub, sid, jti, iat, exp } = payload as unknown as RefreshTokenClaims
  return cnf === undefined ? { sub, sid, jti, iat, exp } : { sub, sid, jti, iat, exp, cnf }
}
