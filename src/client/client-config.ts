import type { ClientOptions } from './client-api.js'

/** {@link ClientOptions}, checked, with their defaults applied. */
export interface ClientConfig {
  readonly mode: 'cookie' | 'bearer'
  /** The auth routes' URL: origin, path prefix and base path, without a trailing slash. */
  readonly authUrl: string
  readonly authOrigin: string
  /** Origins `fetch` sends credentials to: the auth server's and `tokenOrigins`. */
  readonly tokenOrigins: ReadonlySet<string>
  readonly fetch: typeof globalThis.fetch
  readonly now: () => number
  readonly proactiveRefresh: boolean
  readonly maxRefreshesPerMinute: number
  readonly refreshTimeoutMs: number
  readonly lockTimeoutMs: number
  /** Share refreshes with the other tabs (cookie mode only: tabs share cookies, never memory). */
  readonly crossTab: boolean
  /** Prove possession of a DPoP key on logins, refreshes and requests of a bound session. */
  readonly dpop: boolean
}

/** Checks `options` and applies their defaults; a wrong one throws a `TypeError` that names it. */
export function resolveClientConfig(options: ClientOptions): ClientConfig {
  if (options.mode !== 'cookie' && options.mode !== 'bearer') {
    throw new TypeError('createClient: mode must be "cookie" or "bearer"')
  }
  const mode = options.mode
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
  const tokenOrigins = new Set([base.origin, ...(options.tokenOrigins ?? []).map((o) => new URL(o).origin)])
  const maxRefreshesPerMinute = options.maxRefreshesPerMinute ?? 6
  if (!Number.isInteger(maxRefreshesPerMinute) || maxRefreshesPerMinute < 1) {
    throw new TypeError('createClient: maxRefreshesPerMinute must be a positive integer')
  }
  const crossTab = options.crossTab ?? (mode === 'cookie' && typeof window !== 'undefined')
  return {
    mode,
    authUrl: `${base.origin}${base.pathname.replace(/\/+$/, '')}${basePath.replace(/\/+$/, '')}`,
    authOrigin: base.origin,
    tokenOrigins,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    now: options.now ?? Date.now,
    proactiveRefresh: options.proactiveRefresh ?? true,
    maxRefreshesPerMinute,
    refreshTimeoutMs: options.refreshTimeoutMs ?? 10_000,
    lockTimeoutMs: options.lockTimeoutMs ?? 15_000,
    crossTab: crossTab && mode === 'cookie',
    dpop: options.dpop === true,
  }
}
