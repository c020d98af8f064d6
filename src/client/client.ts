import type { RevokedCount } from '../protocol/wire-schemas.js'
import type { BearerTokens, ClientEvents, ClientOptions, TokenpairClient } from './client-api.js'
import { resolveClientConfig } from './client-config.js'
import { DPoPProver } from './dpop-prover.js'
import { SessionEndedError } from './errors.js'
import { createMFAApi, createPasskeysApi, type MFAApi, type PasskeysApi } from './factors.js'
import { createProvidersApi, type ProvidersApi } from './providers.js'
import { peekErrorCode, readEnvelopeData } from './read-envelope.js'
import { SessionKeeper } from './session-keeper.js'
import type { ClientSession, ClientUser, LoginInput, RegisterInput } from './types.js'

/** The client's calls, over the {@link SessionKeeper} that holds its session. */
class Client implements TokenpairClient {
  readonly mode: 'cookie' | 'bearer'
  readonly mfa: MFAApi
  readonly passkeys: PasskeysApi
  readonly providers: ProvidersApi
  readonly #keeper: SessionKeeper

  constructor(options: ClientOptions) {
    const config = resolveClientConfig(options)
    this.mode = config.mode
    // One key for the client: the keeper signs proofs with it, a provider start names its thumbprint.
    const prover = config.dpop ? new DPoPProver(config.authUrl) : null
    this.#keeper = new SessionKeeper(config, options, prover)
    const transport = {
      callSession: <T>(method: string, path: string, body?: unknown) =>
        this.#callSession<T>(method, path, body),
      signIn: (path: string, body: unknown) => this.#keeper.signIn(path, body),
      callPublic: <T>(path: string, body: unknown) => this.#keeper.callPublic<T>(path, body),
    }
    this.mfa = createMFAApi(transport)
    this.passkeys = createPasskeysApi(transport)
    this.providers = createProvidersApi({
      authUrl: config.authUrl,
      prover,
      get: async <T>(path: string) =>
        readEnvelopeData<T>(await this.#keeper.send(`${config.authUrl}${path}`, { method: 'GET' })),
      me: () => this.me(),
    })
  }

  // ---- account calls ----

  register(input: RegisterInput): Promise<ClientUser> {
    return this.#keeper.signIn('/register', input)
  }

  login(input: LoginInput): Promise<ClientUser> {
    return this.#keeper.signIn('/login', input)
  }

  verifyMFA(
    input: { mfaToken: string; code: string } | { mfaToken: string; recoveryCode: string },
  ): Promise<ClientUser> {
    return this.#keeper.signIn('/mfa/verify', input)
  }

  logout(): Promise<void> {
    return this.#keeper.logout()
  }

  async logoutAll(): Promise<number> {
    const data = await this.#callSession<RevokedCount>('POST', '/logout-all')
    this.#keeper.endSession('logout_all', 'here')
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
    return this.#keeper.callPublic<ClientUser>('/email/verify', { token })
  }

  async requestPasswordReset(email: string): Promise<void> {
    await this.#keeper.callPublic<unknown>('/password/reset/request', { email })
  }

  async resetPassword(input: { token: string; newPassword: string }): Promise<void> {
    await this.#keeper.callPublic<unknown>('/password/reset', input)
  }

  refresh(): Promise<void> {
    return this.#keeper.refreshAfter(this.#keeper.generation)
  }

  // ---- fetch ----

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const keeper = this.#keeper
    const url = new URL(input instanceof Request ? input.url : String(input), keeper.config.authUrl)
    if (!keeper.config.tokenOrigins.has(url.origin)) return keeper.config.fetch(input, init)
    // A Request's body can be read once: keep an unread copy for the retry.
    const template = input instanceof Request ? input.clone() : null
    const replayable = !(init?.body instanceof ReadableStream)
    await keeper.refreshIfExpired()
    const generation = keeper.generation
    const again = () => (template ? template.clone() : url)
    const res = await keeper.sendAuthorized(again, init)
    const code = await peekErrorCode(res)
    if (code === 'session_revoked') {
      keeper.endSession(
        code,
        'here',
        new SessionEndedError(code, 'Session has been revoked', { status: 401 }),
      )
    }
    if (code !== 'token_expired' || !replayable) return res
    await keeper.refreshAfter(generation)
    return keeper.sendAuthorized(again, init)
  }

  async #callSession<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method }
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' }
      init.body = JSON.stringify(body)
    }
    return readEnvelopeData<T>(await this.fetch(`${this.#keeper.config.authUrl}${path}`, init))
  }

  // ---- state ----

  isSignedIn(): boolean {
    return this.mode === 'bearer' ? this.#keeper.tokens !== null : this.#keeper.expiresAt !== null
  }

  getAccessTokenExpiresAt(): Date | null {
    const expiresAt = this.#keeper.expiresAt
    return expiresAt === null ? null : new Date(expiresAt)
  }

  getAccessTokenRemainingMs(): number | null {
    const expiresAt = this.#keeper.expiresAt
    return expiresAt === null ? null : expiresAt - this.#keeper.serverNow()
  }

  getClockOffsetMs(): number {
    return this.#keeper.clockOffsetMs
  }

  getTokens(): BearerTokens | null {
    return this.#keeper.tokens
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#keeper.on(event, listener)
  }

  close(): void {
    this.#keeper.close()
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
