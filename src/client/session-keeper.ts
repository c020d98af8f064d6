import type { BearerTokens, ClientEvents, ClientOptions } from './client-api.js'
import type { ClientConfig } from './client-config.js'
import { ClockSkew } from './clock-skew.js'
import { type CoordinatedRefresh, CrossTabRefresh, type SharedOutcome } from './cross-tab.js'
import { type DPoPProver, isBoundAccessToken, type ProvedRequest } from './dpop-prover.js'
import { ClientError, SessionEndedError } from './errors.js'
import { readEnvelopeData } from './read-envelope.js'
import { RefreshTimer } from './refresh-timer.js'
import type { ClientUser, TokenResponse } from './types.js'

const MINUTE_MS = 60_000

type Listeners = { [K in keyof ClientEvents]: Set<(payload: ClientEvents[K]) => void> }

/**
 * What the client knows of its session and how it renews it: the tokens (bearer mode) or the
 * expiry (both modes), the generation that tells a stale request from a fresh one, and the single
 * flight of refreshes, shared with the other tabs in cookie mode. Internal to the client.
 */
export class SessionKeeper {
  readonly config: ClientConfig
  readonly #clock = new ClockSkew()
  readonly #crossTab: CrossTabRefresh | null
  readonly #timer: RefreshTimer
  readonly #listeners: Listeners = { sessionEnd: new Set(), refresh: new Set() }
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
  /** With the `dpop` option: signs proofs with the client's key (the client's, shared with its other calls). */
  readonly #prover: DPoPProver | null
  /** Whether the session is bound to the DPoP key (the last token response said `DPoP`). */
  #bound = false

  constructor(config: ClientConfig, options: ClientOptions, prover: DPoPProver | null) {
    this.config = config
    this.#timer = new RefreshTimer({
      readDue: () =>
        this.config.proactiveRefresh && this.#expiresAt !== null
          ? { expiresAt: this.#expiresAt, lifetimeMs: this.#lifetimeMs, serverNow: this.serverNow() }
          : null,
      onDue: () => {
        this.refreshAfter(this.#generation).catch(() => {
          // Reported through onSessionEnd; a transient fault is retried by the next request.
        })
      },
    })
    this.#onTokens = options.onTokens
    if (options.onSessionEnd) this.#listeners.sessionEnd.add(options.onSessionEnd)
    if (options.onRefresh) this.#listeners.refresh.add(options.onRefresh)
    this.#tokens = config.mode === 'bearer' ? (options.tokens ?? null) : null
    this.#prover = prover
    this.#bound = this.#tokens !== null && isBoundAccessToken(this.#tokens.accessToken)
    if (this.#tokens) this.#setExpiry(Date.parse(this.#tokens.accessTokenExpiresAt), 0)
    this.#crossTab = config.crossTab
      ? new CrossTabRefresh({
          key: config.authUrl,
          lockTimeoutMs: config.lockTimeoutMs,
          onOutcome: (outcome) => this.#receiveOutcome(outcome),
        })
      : null
    const latest = this.#crossTab?.readLatest()
    if (latest?.kind === 'tokens') this.#adoptTokens(latest, { notify: 'silent' })
    this.#timer.watchVisibility()
  }

  // ---- state ----

  get generation(): number {
    return this.#generation
  }

  get expiresAt(): number | null {
    return this.#expiresAt
  }

  get tokens(): BearerTokens | null {
    return this.#tokens ? { ...this.#tokens } : null
  }

  get clockOffsetMs(): number {
    return this.#clock.getOffset()
  }

  serverNow(): number {
    return this.config.now() + this.#clock.getOffset()
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    const set = this.#listeners[event] as Set<(payload: ClientEvents[K]) => void>
    set.add(listener)
    return () => set.delete(listener)
  }

  close(): void {
    this.#timer.close()
    this.#crossTab?.close()
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

  // ---- sending ----

  authHeaders(base?: HeadersInit): Headers {
    const headers = new Headers(base)
    headers.set('x-auth-mode', this.config.mode)
    if (this.config.mode === 'bearer' && this.#tokens && !headers.has('authorization')) {
      // A bound token is sent under the DPoP scheme (RFC 9449 §7.1), with a proof beside it.
      const scheme = this.#bound && this.#prover ? 'DPoP' : 'Bearer'
      headers.set('authorization', `${scheme} ${this.#tokens.accessToken}`)
    }
    return headers
  }

  /** Sends a request and feeds the answer's `Date` to the skew estimate. Network faults become `network_error`. */
  async send(input: RequestInfo | URL, init: RequestInit): Promise<Response> {
    const sentAt = this.config.now()
    let res: Response
    try {
      res = await this.config.fetch(input, init)
    } catch (cause) {
      throw new ClientError('network_error', 'The request did not complete', { cause })
    }
    const receivedAt = this.config.now()
    if (new URL(res.url || this.config.authUrl).origin === this.config.authOrigin) {
      this.#clock.observeDateHeader(sentAt, receivedAt, res.headers.get('date'))
    }
    return res
  }

  /**
   * Sends a request with the session's credentials; `makeInput` gives the request again for a
   * retry (a Request's body is read once). A bound session's requests carry a proof each.
   */
  sendAuthorized(makeInput: () => Request | URL, init: RequestInit | undefined): Promise<Response> {
    const first = makeInput()
    const headers = this.authHeaders(init?.headers ?? (first instanceof Request ? first.headers : undefined))
    const sent: RequestInit = {
      ...init,
      headers,
      credentials: this.config.mode === 'cookie' ? 'include' : (init?.credentials ?? 'same-origin'),
    }
    // A cookie-mode tab cannot read whether the cookie's token is bound (a reload forgets): it proves always.
    if (!this.#bound && this.config.mode !== 'cookie') return this.send(first, sent)
    const method = init?.method ?? (first instanceof Request ? first.method : 'GET')
    const url = first instanceof Request ? first.url : first.href
    const authorization = headers.get('authorization') ?? ''
    // `ath` ties the proof to the token in Authorization; a cookie-borne token is not readable here.
    const accessToken = authorization.startsWith('DPoP ') ? authorization.slice(5) : undefined
    return this.#sendProved(first, makeInput, sent, { method, url, accessToken })
  }

  /** Sends with a fresh proof for `target` where the client has a DPoP key (dpop-prover.ts). */
  #sendProved(
    first: RequestInfo | URL,
    makeInput: () => RequestInfo | URL,
    init: RequestInit,
    target: ProvedRequest,
  ): Promise<Response> {
    if (this.#prover === null) return this.send(first, init)
    return this.#prover.send(
      (input, sent) => this.send(input, sent),
      { first, makeInput, init, target },
      () => this.serverNow(),
    )
  }

  /** `POST` of an auth route that needs no session. */
  async callPublic<T>(path: string, body: unknown, init: RequestInit = {}): Promise<T> {
    const headers = new Headers({ 'content-type': 'application/json', 'x-auth-mode': this.config.mode })
    const url = `${this.config.authUrl}${path}`
    // Logins and refreshes carry a proof: the server binds the session to the key, or checks it.
    const res = await this.#sendProved(
      url,
      () => url,
      {
        ...init,
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        credentials: this.config.mode === 'cookie' ? 'include' : 'same-origin',
      },
      { method: 'POST', url },
    )
    return readEnvelopeData<T>(res)
  }

  // ---- the session's life ----

  async signIn(path: string, body: unknown): Promise<ClientUser> {
    const sentAt = this.config.now()
    const data = await this.callPublic<TokenResponse>(path, body)
    const outcome = this.#applyTokenResponse(data, sentAt, this.config.now())
    this.#crossTab?.publish(outcome)
    return data.user
  }

  async logout(): Promise<void> {
    const headers = this.authHeaders()
    headers.set('content-type', 'application/json')
    const body =
      this.config.mode === 'bearer' && this.#tokens ? { refreshToken: this.#tokens.refreshToken } : {}
    const res = await this.send(`${this.config.authUrl}/logout`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      credentials: this.config.mode === 'cookie' ? 'include' : 'same-origin',
    })
    await readEnvelopeData<null>(res)
    this.endSession('logout', 'here')
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
    if (this.config.mode === 'bearer') {
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
    this.#bound = data.tokenType === 'DPoP'
    this.#generation++
    this.#setExpiry(expiresAt, data.expiresIn * 1000)
    return {
      kind: 'tokens',
      at: this.#knownAt,
      tab: this.#crossTab?.tab ?? '',
      accessTokenExpiresAt: data.accessTokenExpiresAt,
      lifetimeMs: data.expiresIn * 1000,
      bound: this.#bound,
    }
  }

  #setExpiry(expiresAt: number, lifetimeMs: number): void {
    this.#expiresAt = expiresAt
    this.#lifetimeMs = lifetimeMs > 0 ? lifetimeMs : Math.max(0, expiresAt - this.serverNow())
    this.#timer.schedule()
  }

  #receiveOutcome(outcome: SharedOutcome): void {
    if (outcome.at <= this.#knownAt) return
    if (outcome.kind === 'ended') {
      this.#knownAt = outcome.at
      this.endSession(outcome.reason ?? 'other_tab', 'elsewhere')
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
    // Tabs share the key (IndexedDB) and the cookies, so another tab's bound session is this one's.
    if (outcome.bound !== undefined) this.#bound = outcome.bound
    this.#generation++
    this.#setExpiry(expiresAt, outcome.lifetimeMs ?? 0)
    if (options.notify === 'emit') {
      this.#emit('refresh', { source: 'other_tab', accessTokenExpiresAt: new Date(expiresAt) })
    }
  }

  endSession(reason: string, where: 'here' | 'elsewhere', cause?: SessionEndedError): void {
    if (cause) this.#endError = cause
    const hadTokens = this.#tokens !== null
    this.#tokens = null
    this.#bound = false
    this.#expiresAt = null
    this.#generation++
    this.#timer.clear()
    if (hadTokens) this.#onTokens?.(null)
    if (where === 'here' && this.#crossTab) {
      this.#knownAt = Math.max(Date.now(), this.#knownAt + 1)
      this.#crossTab.publish({ kind: 'ended', at: this.#knownAt, tab: this.#crossTab.tab, reason })
    }
    if (this.#ended) return
    this.#ended = true
    this.#emit('sessionEnd', { reason })
  }

  // ---- refresh ----

  /** Before sending: a token known to be expired is refreshed first rather than sent to be refused. */
  async refreshIfExpired(): Promise<void> {
    const inFlight = this.#inFlight
    if (inFlight !== null) {
      await inFlight
      return
    }
    if (!this.config.proactiveRefresh || this.#expiresAt === null) return
    if (this.serverNow() >= this.#expiresAt) await this.refreshAfter(this.#generation)
  }

  /**
   * Single flight: a caller whose request was sent under `generation` needs credentials newer
   * than that. If they already changed, nothing is sent; if a refresh is in flight, it joins it.
   */
  refreshAfter(generation: number): Promise<void> {
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
      this.endSession(reason, 'elsewhere', error)
      throw error
    }
    if (result.outcome.at > this.#knownAt) this.#adoptTokens(result.outcome, { notify: 'emit' })
  }

  async #sendRefresh(): Promise<SharedOutcome> {
    if (this.config.mode === 'bearer' && !this.#tokens) {
      throw new ClientError('not_signed_in', 'No refresh token: sign in first')
    }
    // The bound that stops a refresh loop (e.g. a server whose clock runs far ahead answering
    // token_expired to every fresh token): a few refreshes a minute, then errors, never a storm.
    const now = this.config.now()
    this.#attempts = this.#attempts.filter((t) => now - t < MINUTE_MS && t <= now)
    if (this.#attempts.length >= this.config.maxRefreshesPerMinute) {
      throw new ClientError(
        'refresh_limit',
        `Refresh attempted ${this.#attempts.length} times within a minute; not trying again yet`,
      )
    }
    this.#attempts.push(now)
    const body = this.config.mode === 'bearer' ? { refreshToken: this.#tokens!.refreshToken } : {}
    const sentAt = this.config.now()
    let data: TokenResponse
    try {
      data = await this.callPublic<TokenResponse>('/refresh', body, {
        signal: AbortSignal.timeout(this.config.refreshTimeoutMs),
      })
    } catch (error) {
      if (error instanceof SessionEndedError) this.endSession(error.code, 'here', error)
      throw error
    }
    const outcome = this.#applyTokenResponse(data, sentAt, this.config.now())
    this.#emit('refresh', { source: 'this_tab', accessTokenExpiresAt: new Date(data.accessTokenExpiresAt) })
    return outcome
  }
}
