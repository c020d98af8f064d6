import { AuthError } from '../errors.js'

/** The claims of an access token (API.md "Tokens"). */
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
}

/** The claims of a refresh token. */
export interface RefreshTokenClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
}

/** Largest token accepted, in characters: refuses garbage before any parsing or crypto. */
export const MAX_TOKEN_LENGTH = 8192

/** A compact JWS: three base64url parts. */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}

/**
 * The claims of an access token whose signature, `typ`, `iss`, `aud` and `exp` were verified:
 * checks what jose does not (an `iat` not in the future beyond `toleranceMs`, the shape of our own
 * claims). Shared by the server and the JWKS-only verifier, so that both refuse the same tokens.
 */
export function readAccessTokenClaims(
  payload: Record<string, unknown>,
  now: number,
  toleranceMs: number,
): AccessTokenClaims {
  if (typeof payload.iat !== 'number' || payload.iat * 1000 > now + toleranceMs) {
    throw new AuthError('invalid_token', 'Access token is issued in the future')
  }
  if (
    typeof payload.sub !== 'string' ||
    typeof payload.sid !== 'string' ||
    typeof payload.username !== 'string' ||
    typeof payload.email !== 'string' ||
    typeof payload.fullname !== 'string' ||
    !isStringArray(payload.roles)
  ) {
    throw new AuthError('invalid_token', 'Access token lacks required claims')
  }
  return payload as unknown as AccessTokenClaims
}
