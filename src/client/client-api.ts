import type { MFAApi, PasskeysApi } from './factors.js'
import type { ProvidersApi } from './providers.js'
import type { ClientSession, ClientUser, LoginInput, RegisterInput } from './types.js'

/* What `createClient` takes and what it returns. */

/** Tokens a bearer-mode client holds (and may persist through `onTokens`). */
export interface BearerTokens {
  accessToken: string
  refreshToken: string
  /** ISO 8601, the server's clock. */
  accessTokenExpiresAt: string
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

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The auth server's URL (origin, and a path prefix if it has one). Relative URLs resolve against the page. */
  baseUrl: string
  /**
   * `cookie`: the browser keeps both tokens in HttpOnly cookies that script never sees (browsers).
   * `bearer`: the client keeps both tokens in memory and sends `Authorization: Bearer` (Node, native apps).
   */
  mode: 'cookie' | 'bearer'
  /** Where the auth routes are mounted. Default `/auth`. */
  basePath?: string
  /**
   * Origins `fetch` sends credentials to. Default: the auth server's origin only, so that a token
   * never leaks to a third-party URL passed to `fetch`.
   */
  tokenOrigins?: readonly string[]
  /** Bearer mode: tokens to start with (e.g. restored from storage). Default none. */
  tokens?: BearerTokens | null
  /**
   * Refresh shortly before the access token expires (never in a background tab, which refreshes
   * when it next makes a request), and before sending a request with a token known to be expired.
   * Default `true`; with `false` the client refreshes only on `401 token_expired`.
   */
  proactiveRefresh?: boolean
  /** Refresh requests allowed per rolling minute; past it, refreshes fail with `refresh_limit`. Default `6`. */
  maxRefreshesPerMinute?: number
  /** Timeout of a refresh request, ms. Default `10000`. */
  refreshTimeoutMs?: number
  /** Cookie mode: the longest a tab waits on another tab's refresh, ms. Default `15000`. */
  lockTimeoutMs?: number
  /** Share refreshes with the other tabs of the origin. Default: `true` in cookie mode in a browser. */
  crossTab?: boolean
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof globalThis.fetch
  /** The local clock, ms since the epoch. Default `Date.now`. */
  now?: () => number
  /** Called once when the session ends (see {@link SessionEndEvent}). */
  onSessionEnd?: (event: SessionEndEvent) => void
  /** Called after each refresh, this tab's or another's. */
  onRefresh?: (event: RefreshEvent) => void
  /** Bearer mode: called with the new tokens after each login or refresh, and `null` when they are gone. */
  onTokens?: (tokens: BearerTokens | null) => void
  /**
   * Sender-constrained sessions (DPoP, RFC 9449): the client makes a P-256 key whose private half
   * cannot be exported (kept in IndexedDB in browsers, in memory in Node) and signs a proof for
   * each login, registration and refresh, so that the server binds the session to the key: a
   * refresh token copied out of this client is worthless without it. Once bound, `fetch` sends
   * the access token as `Authorization: DPoP` (bearer mode) with a proof for each request to the
   * token origins, and retries once with the `DPoP-Nonce` a server asks for. Default `false`.
   */
  dpop?: boolean
}

/** The events of {@link TokenpairClient.on}. */
export interface ClientEvents {
  sessionEnd: SessionEndEvent
  refresh: RefreshEvent
}

/** A tokenpair client (see {@link createClient}). */
export interface TokenpairClient {
  /** The mode it was created with. */
  readonly mode: 'cookie' | 'bearer'
  /** `POST /auth/register`: creates the user and signs in. */
  register(input: RegisterInput): Promise<ClientUser>
  /**
   * `POST /auth/login`. For a user with a second factor it throws `MFARequiredError`, which carries
   * the ticket for {@link TokenpairClient.verifyMFA}.
   */
  login(input: LoginInput): Promise<ClientUser>
  /** `POST /auth/mfa/verify`: completes a login with a TOTP `code` or a `recoveryCode`. */
  verifyMFA(
    input: { mfaToken: string; code: string } | { mfaToken: string; recoveryCode: string },
  ): Promise<ClientUser>
  /** TOTP and recovery codes. */
  readonly mfa: MFAApi
  /** Passkeys (WebAuthn, in browsers). */
  readonly passkeys: PasskeysApi
  /** Sign-in with an identity provider (browsers, cookie mode): start links, the way back. */
  readonly providers: ProvidersApi
  /** `POST /auth/logout`: ends this session and clears the cookies; throws `network_error` when the server is unreachable. */
  logout(): Promise<void>
  /** `POST /auth/logout-all`: ends every session of the user; resolves to how many. */
  logoutAll(): Promise<number>
  /** `GET /auth/me`. */
  me(): Promise<ClientUser>
  /** `GET /auth/sessions`: the user's active sessions, newest first. */
  sessions(): Promise<ClientSession[]>
  /** `DELETE /auth/sessions/:id`. */
  revokeSession(id: string): Promise<void>
  /** `POST /auth/change-password`: the server ends every other session. */
  changePassword(input: { currentPassword: string; newPassword: string }): Promise<void>
  /** `PATCH /auth/me`. */
  updateProfile(input: { fullname?: string; email?: string }): Promise<ClientUser>
  /** `POST /auth/email/verify/request`: mails a verification link. */
  requestEmailVerification(): Promise<void>
  /** `POST /auth/email/verify`: the token of a verification link. */
  verifyEmail(token: string): Promise<ClientUser>
  /** `POST /auth/password/reset/request`: mails a reset link when the address exists. */
  requestPasswordReset(email: string): Promise<void>
  /** `POST /auth/password/reset`: the token of a reset link and the new password. */
  resetPassword(input: { token: string; newPassword: string }): Promise<void>
  /** Refreshes now (joins a refresh already in flight). */
  refresh(): Promise<void>
  /**
   * `fetch` with credentials (a relative URL resolves against `baseUrl`): sends the access token (bearer) or the cookies (cookie mode); on
   * `401 token_expired` refreshes (once for all concurrent callers) and retries once. Other
   * answers are returned as they are; a failed refresh rejects with a {@link ClientError}.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** Whether the client holds a session, as far as it knows. */
  isSignedIn(): boolean
  /** When the access token expires (server clock), or `null` when unknown. */
  getAccessTokenExpiresAt(): Date | null
  /** Ms until the access token expires, corrected for clock skew; `null` when unknown. */
  getAccessTokenRemainingMs(): number | null
  /** Estimated server clock minus local clock, ms. */
  getClockOffsetMs(): number
  /** Bearer mode: the tokens held, or `null`. */
  getTokens(): BearerTokens | null
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void
  /** Stops timers and cross-tab listeners. */
  close(): void
}
