import { isErrorCode } from '../protocol/error-codes.js'
import { ClockSkew } from './clock-skew.js'
import { type CoordinatedRefresh, CrossTabRefresh, type SharedOutcome } from './cross-tab.js'
import { ClientError, type ClientFieldError, SessionEndedError } from './errors.js'
import type {
  BearerTokens,
  ClientSession,
  ClientUser,
  LoginInput,
  RefreshEvent,
  RegisterInput,
  SessionEndEvent,
  TokenResponse,
} from './types.js'

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
  /** `POST /auth/login`. */
  login(input: LoginInput): Promise<ClientUser>
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

/** Answers that end the session: refreshing cannot help. */
const SESSION_END_CODES = new Set([
  'invalid_refresh_token',
  'refresh_token_reused',
  'missing_refresh_token',
  'session_revoked',
])
const MINUTE_MS = 60_000
/** Refresh this far before expiry at most, and never earlier than 80% into the token's life. */
const MAX_LEAD_MS = 30_000
const LEAD_FRACTION = 0.2
const MAX_TIMER_MS = 2_147_483_647

interface Envelope {
  success?: unknown
  data?: unknown
  message?: unknown
  code?: unknown
  errors?: unknown
}

function readErrors(value: unknown): ClientFieldError[] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (e): e is ClientFieldError =>
      typeof e === 'object' && e !== null && typeof e.path === 'string' && typeof e.message === 'string',
  )
}

/** Reads API.md's envelope; throws a {@link ClientError} for an error answer. */
async function readEnvelopeData<T>(res: Response): Promise<T> {
  let body: Envelope
  try {
    body = (await res.json()) as Envelope
  } catch (cause) {
    throw new ClientError('invalid_response', `Answer ${res.status} is not JSON`, {
      status: res.status,
      cause,
    })
  }
  if (typeof body !== 'object' || body === null) {
    throw new ClientError('invalid_response', `Answer ${res.status} is not an envelope`, {
      status: res.status,
    })
  }
  if (res.ok && body.success === true) return body.data as T
  throw toClientError(res, body)
}

function toClientError(res: Response, body: Envelope): ClientError {
  const code = isErrorCode(body.code) ? body.code : res.status >= 500 ? 'internal_error' : 'invalid_response'
  const message = typeof body.message === 'string' ? body.message : `Request failed with ${res.status}`
  const retryAfter = Number(res.headers.get('retry-after'))
  const options = {
    status: res.status,
    errors: readErrors(body.errors),
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  }
  return SESSION_END_CODES.has(code)
    ? new SessionEndedError(code, message, options)
    : new ClientError(code, message, options)
}

/** The `code` of a 401 answer, read from a copy so that the caller still gets an unread body. */
async function peekErrorCode(res: Response): Promise<string | null> {
  if (res.status !== 401) return null
  try {
    const body = (await res.clone().json()) as Envelope
    return typeof body?.code === 'string' ? body.code : null
  } catch {
    return null
  }
}

function isHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden'
}

class Client implements TokenpairClient {
  readonly mode: 'cookie' | 'bearer'
  readonly #authUrl: string
  readonly #authOrigin: string
  readonly #tokenOrigins: ReadonlySet<string>
  readonly #fetch: typeof globalThis.fetch
  readonly #now: () => number
  readonly #proactive: boolean
  readonly #maxRefreshes: number
  readonly #refreshTimeoutMs: number
  readonly #clock = new ClockSkew()
  readonly #crossTab: CrossTabRefresh | null
  readonly #listeners: { [K in keyof ClientEvents]: Set<(payload: ClientEvents[K]) => void> } = {
    sessionEnd: new Set(),
    refresh: new Set(),
  }
  readonly #onTokens: ((tokens: BearerTokens | null) => void) | undefined
  #tokens: BearerTokens | null
  #expiresAt: number | null = null
  #lifetimeMs = 0
  /** Bumped whenever the credentials change: a request sent under an older generation just retries. */
  #generation = 0
  /** Wall-clock time of the newest token outcome this tab knows (its own or another tab's). */
  #knownAt = 0
  #inFlight: Promise<void> | null = null
  #attempts: number[] = []
  #ended = false
  /** The error that ended the session, for requests that come back after it ended. */
  #endError: SessionEndedError | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #waitingForVisible = false
  #closed = false
  readonly #onVisibility = (): void => {
    if (isHidden() || !this.#waitingForVisible) return
    this.#waitingForVisible = false
    this.#schedule()
  }

  constructor(options: ClientOptions) {
    if (options.mode !== 'cookie' && options.mode !== 'bearer') {
      throw new TypeError('createClient: mode must be "cookie" or "bearer"')
    }
    this.mode = options.mode
    const pageUrl = typeof location === 'undefined' ? undefined : location.href
    let base: URL
    try {
      base = new URL(options.baseUrl, pageUrl)
    } catch {
      throw new TypeError('createClient: baseUrl must be an absolute http(s) URL outside a page')
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError('createClient: baseUrl must be http or https')
    }
    const basePath = options.basePath ?? '/auth'
    if (!basePath.startsWith('/')) throw new TypeError('createClient: basePath must start with /')
    this.#authOrigin = base.origin
    this.#authUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}${basePath.replace(/\/+$/, '')}`
    this.#tokenOrigins = new Set([base.origin, ...(options.tokenOrigins ?? []).map((o) => new URL(o).origin)])
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#now = options.now ?? Date.now
    this.#proactive = options.proactiveRefresh ?? true
    this.#maxRefreshes = options.maxRefreshesPerMinute ?? 6
    if (!Number.isInteger(this.#maxRefreshes) || this.#maxRefreshes < 1) {
      throw new TypeError('createClient: maxRefreshesPerMinute must be a positive integer')
    }
    this.#refreshTimeoutMs = options.refreshTimeoutMs ?? 10_000
    this.#onTokens = options.onTokens
    if (options.onSessionEnd) this.#listeners.sessionEnd.add(options.onSessionEnd)
    if (options.onRefresh) this.#listeners.refresh.add(options.onRefresh)
    this.#tokens = this.mode === 'bearer' ? (options.tokens ?? null) : null
    if (this.#tokens) this.#setExpiry(Date.parse(this.#tokens.accessTokenExpiresAt), 0)

    const crossTab = options.crossTab ?? (this.mode === 'cookie' && typeof window !== 'undefined')
    // Tabs share cookies, never bearer tokens held in memory: only cookie mode has anything to share.
    this.#crossTab =
      crossTab && this.mode === 'cookie'
        ? new CrossTabRefresh({
            key: this.#authUrl,
            lockTimeoutMs: options.lockTimeoutMs ?? 15_000,
            onOutcome: (outcome) => this.#receiveOutcome(outcome),
          })
        : null
    const latest = this.#crossTab?.readLatest()
    if (latest?.kind === 'tokens') this.#adoptTokens(latest, { notify: 'silent' })
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.#onVisibility)
  }

  // ---- account calls ----

  async register(input: RegisterInput): Promise<ClientUser> {
    return this.#signIn('/register', input)
  }

  async login(input: LoginInput): Promise<ClientUser> {
    return this.#signIn('/login', input)
  }

  async logout(): Promise<void> {
    const headers = this.#authHeaders()
    headers.set('content-type', 'application/json')
    const body = this.mode === 'bearer' && this.#tokens ? { refreshToken: this.#tokens.refreshToken } : {}
    const res = await this.#send(`${this.#authUrl}/logout`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      credentials: this.mode === 'cookie' ? 'include' : 'same-origin',
    })
    await readEnvelopeData<null>(res)
    this.#endSession('logout', 'here')
  }

  async logoutAll(): Promise<number> {
    const data = await this.#callSession<{ revoked: number }>('POST', '/logout-all')
    this.#endSession('logout_all', 'here')
    return data.revoked
  }

  me(): Promise<ClientUser> {
    return this.#callSession<ClientUser>('GET', '/me')
  }

  sessions(): Promise<ClientSession[]> {
    return this.#callSession<ClientSession[]>('GET', '/sessions')
  }

  async revokeSession(id: string): Promise<void> {
    await this.#callSession<null>('DELETE', `/sessions/${encodeURIComponent(id)}`)
  }

  async changePassword(input: { currentPassword: string; newPassword: string }): Promise<void> {
    await this.#callSession<null>('POST', '/change-password', input)
  }

  updateProfile(input: { fullname?: string; email?: string }): Promise<ClientUser> {
    return this.#callSession<ClientUser>('PATCH', '/me', input)
  }

  async requestEmailVerification(): Promise<void> {
    await this.#callSession<unknown>('POST', '/email/verify/request', {})
  }

  verifyEmail(token: string): Promise<ClientUser> {
    return this.#callPublic<ClientUser>('/email/verify', { token })
  }

  async requestPasswordReset(email: string): Promise<void> {
    await this.#callPublic<unknown>('/password/reset/request', { email })
  }

  async resetPassword(input: { token: string; newPassword: string }): Promise<void> {
    await this.#callPublic<unknown>('/password/reset', input)
  }

  refresh(): Promise<void> {
    return this.#refreshAfter(this.#generation)
  }

  // ---- fetch ----

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input), this.#authUrl)
    if (!this.#tokenOrigins.has(url.origin)) return this.#fetch(input, init)
    // A Request's body can be read once: keep an unread copy for the retry.
    const template = input instanceof Request ? input.clone() : null
    const replayable = !(init?.body instanceof ReadableStream)
    await this.#refreshIfExpired()
    const generation = this.#generation
    const res = await this.#sendAuthorized(template ? template.clone() : url, init)
    const code = await peekErrorCode(res)
    if (code === 'session_revoked') {
      this.#endSession(code, 'here', new SessionEndedError(code, 'Session has been revoked', { status: 401 }))
    }
    if (code !== 'token_expired' || !replayable) return res
    await this.#refreshAfter(generation)
    return this.#sendAuthorized(template ? template.clone() : url, init)
  }

  // ---- state ----

  isSignedIn(): boolean {
    return this.mode === 'bearer' ? this.#tokens !== null : this.#expiresAt !== null
  }

  getAccessTokenExpiresAt(): Date | null {
    return this.#expiresAt === null ? null : new Date(this.#expiresAt)
  }

  getAccessTokenRemainingMs(): number | null {
    return this.#expiresAt === null ? null : this.#expiresAt - this.#serverNow()
  }

  getClockOffsetMs(): number {
    return this.#clock.getOffset()
  }

  getTokens(): BearerTokens | null {
    return this.#tokens ? { ...this.#tokens } : null
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    const set = this.#listeners[event] as Set<(payload: ClientEvents[K]) => void>
    set.add(listener)
    return () => set.delete(listener)
  }

  close(): void {
    this.#closed = true
    this.#clearTimer()
    this.#crossTab?.close()
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.#onVisibility)
  }

  // ---- internals ----

  #serverNow(): number {
    return this.#now() + this.#clock.getOffset()
  }

  #emit<K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void {
    for (const listener of this.#listeners[event] as Set<(payload: ClientEvents[K]) => void>) {
      try {
        listener(payload)
      } catch {
        // A listener's bug must not break the request that triggered the event.
      }
    }
  }

  #authHeaders(base?: HeadersInit): Headers {
    const headers = new Headers(base)
    headers.set('x-auth-mode', this.mode)
    if (this.mode === 'bearer' && this.#tokens && !headers.has('authorization')) {
      headers.set('authorization', `Bearer ${this.#tokens.accessToken}`)
    }
    return headers
  }

  /** Sends a request and feeds the answer's `Date` to the skew estimate. Network faults become `network_error`. */
  async #send(input: RequestInfo | URL, init: RequestInit): Promise<Response> {
    const sentAt = this.#now()
    let res: Response
    try {
      res = await this.#fetch(input, init)
    } catch (cause) {
      throw new ClientError('network_error', 'The request did not complete', { cause })
    }
    const receivedAt = this.#now()
    if (new URL(res.url || this.#authUrl).origin === this.#authOrigin) {
      this.#clock.observeDateHeader(sentAt, receivedAt, res.headers.get('date'))
    }
    return res
  }

  #sendAuthorized(input: Request | URL, init: RequestInit | undefined): Promise<Response> {
    const headers = this.#authHeaders(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    return this.#send(input, {
      ...init,
      headers,
      credentials: this.mode === 'cookie' ? 'include' : (init?.credentials ?? 'same-origin'),
    })
  }

  async #callSession<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method }
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' }
      init.body = JSON.stringify(body)
    }
    return readEnvelopeData<T>(await this.fetch(`${this.#authUrl}${path}`, init))
  }

  async #callPublic<T>(path: string, body: unknown): Promise<T> {
    const headers = new Headers({ 'content-type': 'application/json', 'x-auth-mode': this.mode })
    const res = await this.#send(`${this.#authUrl}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      credentials: this.mode === 'cookie' ? 'include' : 'same-origin',
    })
    return readEnvelopeData<T>(res)
  }

  async #signIn(path: string, body: unknown): Promise<ClientUser> {
    const sentAt = this.#now()
    const data = await this.#callPublic<TokenResponse>(path, body)
    const outcome = this.#applyTokenResponse(data, sentAt, this.#now())
    this.#crossTab?.publish(outcome)
    return data.user
  }

  #applyTokenResponse(data: TokenResponse, sentAt: number, receivedAt: number): SharedOutcome {
    const expiresAt = Date.parse(data.accessTokenExpiresAt)
    if (Number.isNaN(expiresAt) || typeof data.expiresIn !== 'number') {
      throw new ClientError('invalid_response', 'Token response without a valid expiry')
    }
    if (data.expiresIn > 0) {
      // `expiresIn` is rounded to the second: the server's clock read expiresAt - expiresIn ± 0.5 s.
      this.#clock.observe(
        sentAt,
        receivedAt,
        expiresAt - (data.expiresIn + 0.5) * 1000,
        expiresAt - (data.expiresIn - 0.5) * 1000,
      )
    }
    if (this.mode === 'bearer') {
      if (typeof data.accessToken !== 'string' || typeof data.refreshToken !== 'string') {
        throw new ClientError('invalid_response', 'Bearer token response without tokens')
      }
      this.#tokens = {
        accessToken: data.accessToken,
        refreshToken: data.refreshToken,
        accessTokenExpiresAt: data.accessTokenExpiresAt,
      }
      this.#onTokens?.({ ...this.#tokens })
    }
    this.#knownAt = Math.max(Date.now(), this.#knownAt + 1)
    this.#ended = false
    this.#endError = null
    this.#generation++
    this.#setExpiry(expiresAt, data.expiresIn * 1000)
    return {
      kind: 'tokens',
      at: this.#knownAt,
      tab: this.#crossTab?.tab ?? '',
      accessTokenExpiresAt: data.accessTokenExpiresAt,
      lifetimeMs: data.expiresIn * 1000,
    }
  }

  #setExpiry(expiresAt: number, lifetimeMs: number): void {
    this.#expiresAt = expiresAt
    this.#lifetimeMs = lifetimeMs > 0 ? lifetimeMs : Math.max(0, expiresAt - this.#serverNow())
    this.#schedule()
  }

  #receiveOutcome(outcome: SharedOutcome): void {
    if (outcome.at <= this.#knownAt) return
    if (outcome.kind === 'ended') {
      this.#knownAt = outcome.at
      this.#endSession(outcome.reason ?? 'other_tab', 'elsewhere')
    } else {
      this.#adoptTokens(outcome, { notify: 'emit' })
    }
  }

  #adoptTokens(outcome: SharedOutcome, options: { notify: 'emit' | 'silent' }): void {
    const expiresAt = Date.parse(outcome.accessTokenExpiresAt ?? '')
    if (Number.isNaN(expiresAt)) return
    this.#knownAt = Math.max(this.#knownAt, outcome.at)
    this.#ended = false
    this.#endError = null
    this.#generation++
    this.#setExpiry(expiresAt, outcome.lifetimeMs ?? 0)
    if (options.notify === 'emit') {
      this.#emit('refresh', { source: 'other_tab', accessTokenExpiresAt: new Date(expiresAt) })
    }
  }

  #endSession(reason: string, where: 'here' | 'elsewhere', cause?: SessionEndedError): void {
    if (cause) this.#endError = cause
    const hadTokens = this.#tokens !== null
    this.#tokens = null
    this.#expiresAt = null
    this.#generation++
    this.#clearTimer()
    if (hadTokens) this.#onTokens?.(null)
    if (where === 'here' && this.#crossTab) {
      this.#knownAt = Math.max(Date.now(), this.#knownAt + 1)
      this.#crossTab.publish({ kind: 'ended', at: this.#knownAt, tab: this.#crossTab.tab, reason })
    }
    if (this.#ended) return
    this.#ended = true
    this.#emit('sessionEnd', { reason })
  }

  /** Before sending: a token known to be expired is refreshed first rather than sent to be refused. */
  async #refreshIfExpired(): Promise<void> {
    const inFlight = this.#inFlight
    if (inFlight !== null) {
      await inFlight
      return
    }
    if (!this.#proactive || this.#expiresAt === null) return
    if (this.#serverNow() >= this.#expiresAt) await this.#refreshAfter(this.#generation)
  }

  /**
   * Single flight: a caller whose request was sent under `generation` needs credentials newer
   * than that. If they already changed, nothing is sent; if a refresh is in flight, it joins it.
   */
  #refreshAfter(generation: number): Promise<void> {
    if (generation !== this.#generation) {
      // Credentials changed since the request went out: retry with the new ones, unless the change
      // was the end of the session, which a late request must see as the others did.
      return this.#ended && this.#endError ? Promise.reject(this.#endError) : Promise.resolve()
    }
    if (this.#inFlight === null) {
      this.#inFlight = this.#runRefresh().finally(() => {
        this.#inFlight = null
      })
    }
    return this.#inFlight
  }

  async #runRefresh(): Promise<void> {
    if (!this.#crossTab) {
      await this.#sendRefresh()
      return
    }
    const result: CoordinatedRefresh = await this.#crossTab.coordinate(this.#knownAt, () =>
      this.#sendRefresh(),
    )
    if (!result.adopted) return
    if (result.outcome.kind === 'ended') {
      this.#knownAt = Math.max(this.#knownAt, result.outcome.at)
      const reason = result.outcome.reason ?? 'other_tab'
      const error = new SessionEndedError('invalid_refresh_token', `Session ended in another tab (${reason})`)
      this.#endSession(reason, 'elsewhere', error)
      throw error
    }
    if (result.outcome.at > this.#knownAt) this.#adoptTokens(result.outcome, { notify: 'emit' })
  }

  async #sendRefresh(): Promise<SharedOutcome> {
    if (this.mode === 'bearer' && !this.#tokens) {
      throw new ClientError('not_signed_in', 'No refresh token: sign in first')
    }
    // The bound that stops a refresh loop (e.g. a server whose clock runs far ahead answering
    // token_expired to every fresh token): a few refreshes a minute, then errors, never a storm.
    const now = this.#now()
    this.#attempts = this.#attempts.filter((t) => now - t < MINUTE_MS && t <= now)
    if (this.#attempts.length >= this.#maxRefreshes) {
      throw new ClientError(
        'refresh_limit',
        `Refresh attempted ${this.#attempts.length} times within a minute; not trying again yet`,
      )
    }
    this.#attempts.push(now)
    const headers = new Headers({ 'content-type': 'application/json', 'x-auth-mode': this.mode })
    const body = this.mode === 'bearer' ? { refreshToken: this.#tokens!.refreshToken } : {}
    const sentAt = this.#now()
    const res = await this.#send(`${this.#authUrl}/refresh`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      credentials: this.mode === 'cookie' ? 'include' : 'same-origin',
      signal: AbortSignal.timeout(this.#refreshTimeoutMs),
    })
    let data: TokenResponse
    try {
      data = await readEnvelopeData<TokenResponse>(res)
    } catch (error) {
      if (error instanceof SessionEndedError) this.#endSession(error.code, 'here', error)
      throw error
    }
    const outcome = this.#applyTokenResponse(data, sentAt, this.#now())
    this.#emit('refresh', { source: 'this_tab', accessTokenExpiresAt: new Date(data.accessTokenExpiresAt) })
    return outcome
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(): void {
    this.#clearTimer()
    if (!this.#proactive || this.#closed || this.#expiresAt === null) return
    const lead = Math.min(MAX_LEAD_MS, this.#lifetimeMs * LEAD_FRACTION)
    const delay = Math.min(Math.max(this.#expiresAt - lead - this.#serverNow(), 0), MAX_TIMER_MS)
    this.#timer = setTimeout(() => this.#onTimer(), delay)
    // In Node, a pending refresh must not keep the process alive on its own.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #onTimer(): void {
    this.#timer = null
    if (this.#closed || this.#expiresAt === null) return
    // A background tab waits: it refreshes when it becomes visible or makes a request.
    if (isHidden()) {
      this.#waitingForVisible = true
      return
    }
    this.#refreshAfter(this.#generation).catch(() => {
      // Reported through onSessionEnd; a transient fault is retried by the next request.
    })
  }
}

/**
 * Creates a client of a tokenpair server, for browsers and Node 20.
 *
 * @example
 * ```ts
 * import { createClient } from 'tokenpair/client'
 * const client = createClient({ baseUrl: 'https://auth.example.com', mode: 'cookie',
 *   onSessionEnd: () => showLogin() })
 * await client.login({ login: 'ada', password })
 * const res = await client.fetch('/api/notes') // refreshed and retried when the token expired
 * ```
 */
export function createClient(options: ClientOptions): TokenpairClient {
  return new Client(options)
}
