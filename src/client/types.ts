/**
 * The shapes of the HTTP contract as the client sees them: the server's wire types (imported as
 * types only, so that no zod reaches the browser bundle), and the client's own.
 */
import type { PublicUser, SessionEntry, TokenResponseData } from '../protocol/wire-schemas.js'

/** A user. Times are ISO 8601 strings. */
export interface ClientUser extends Omit<PublicUser, 'emailVerified' | 'mfa'> {
  /** Present once the server supports email verification. */
  emailVerified?: boolean
  /** The factors beyond the password; present once the server supports them. */
  mfa?: PublicUser['mfa']
}

/** One active session of the user (`GET /auth/sessions`); `current` marks this client's. */
export type ClientSession = SessionEntry

/** The `data` of a token response. Tokens are absent in cookie mode. */
export interface TokenResponse extends Omit<TokenResponseData, 'user'> {
  user: ClientUser
}

/** Body of `POST /auth/register`. */
export interface RegisterInput {
  username: string
  email: string
  fullname: string
  password: string
}

/** Body of `POST /auth/login`: `login` is a username or an email. */
export interface LoginInput {
  login: string
  password: string
}
