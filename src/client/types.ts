/**
 * The shapes of the HTTP contract as the client sees them: the server's wire types (imported as
 * types only, so that no zod reaches the browser bundle), and the client's own.
 */
import type { PublicUser, SessionEntry, TokenResponseData } from '../protocol/wire-schemas.js'

/** A user. Times are ISO 8601 strings. */
export interface ClientUser extends Omit<PublicUser, 'emailVerified'> {
  /** Present once the server supports email verification. */
  emailVerified?: boolean
}

/** One active session of the user (`GET /auth/sessions`); `current` marks this client's. */
export type ClientSession = SessionEntry

/** The `data` of a token response. Tokens are absent in cookie mode. */
export interface TokenResponse extends Omit<TokenResponseData, 'user'> {
  user: ClientUser
}

/** Tokens a bearer-mode client holds (and may persist through `onTokens`). */
export interface BearerTokens {
  accessToken: string
  refreshToken: string
  /** ISO 8601, the server's clock. */
  accessTokenExpiresAt: string
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

/** Why a session ended (the `onSessionEnd` event). */
export interface SessionEndEvent {
  /**
   * `logout` and `logout_all` when this client asked; otherwise the code of the answer that ended
   * it (`invalid_refresh_token`, `refresh_token_reused`, `missing_refresh_token`,
   * `session_revoked`), or `other_tab` when another tab of the same origin saw it end.
   */
  reason: string
}

/** A refresh that happened (the `onRefresh` event). */
export interface RefreshEvent {
  /** `this_tab` when this client sent it; `other_tab` when another tab did and shared the outcome. */
  source: 'this_tab' | 'other_tab'
  /** When the new access token expires, the server's clock. */
  accessTokenExpiresAt: Date
}
