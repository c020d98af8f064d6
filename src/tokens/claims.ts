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
