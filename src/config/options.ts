import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from '../common/algorithms.js'
import { type Duration, MAX_TIMER_MS, resolveDuration } from '../common/duration.js'
import { type AuthLogger, SILENT_LOGGER } from '../common/logger.js'
import { ConfigError } from '../errors.js'
import type { SecurityEventListener } from '../events/events.js'
import {
  type RateLimitOptions,
  type ResolvedRateLimits,
  resolveRateLimits,
} from '../limits/rate-limit-settings.js'
import {
  type MailOptions,
  type ResolvedMailOptions,
  resolveAppUrl,
  resolveMailOptions,
} from '../mail/mail-options.js'
import type { CookiePrefix } from '../protocol/cookies.js'
import type { Storage } from '../storage/storage.js'

/** The smallest secret accepted: 32 characters, about 190 bits from a random base64 string. */
export const MIN_SECRET_LENGTH = 32

/** Options of `createAuth`. Every default is API.md's. */
export interface AuthOptions {
  /** A database URL (`sqlite:PATH`, `sqlite::memory:`, `postgres://…`, `mysql://…`, `mongodb://…`) or a ready {@link Storage}. */
  database: string | Storage
  /**
   * `AUTH_SECRET`: encrypts private keys at rest and derives the refresh-token key. At least 32
   * characters. Required unless `algorithm` is `HS256` with both token secrets given.
   */
  secret?: string
  /** Access-token algorithm. Default `EdDSA`. */
  algorithm?: AccessTokenAlgorithm
  /** HS256 secret for access tokens (the reference design's `ACCESS_TOKEN_SECRET`). */
  accessTokenSecret?: string
  /** HS256 secret for refresh tokens (`REFRESH_TOKEN_SECRET`). Default: derived from `secret`. */
  refreshTokenSecret?: string
  /** `iss` of every token. Default `tokenpair`. */
  issuer?: string
  /** `aud` of access tokens. Default `tokenpair`. */
  audience?: string
  /** Access-token lifetime. Default `15m`. */
  accessTokenTtl?: Duration
  /** Refresh-token idle lifetime, renewed by each rotation. Default `7d`. */
  refreshTokenTtl?: Duration
  /** Absolute lifetime of a session (one login). Default `30d`. */
  sessionMaxAge?: Duration
  /** How long a used refresh token may be presented again for a sibling pair. Default `10s`; `0` disables. */
  refreshReuseGrace?: Duration
  /** Origins allowed, besides the server's own, to make cookie-borne state changes. Default none. */
  allowedOrigins?: readonly string[]
  /** `Secure` attribute of the cookies. Default `true`. */
  cookieSecure?: boolean
  /** Where the router is mounted; the refresh cookie's `Path`. Default `/auth`. */
  basePath?: string
  /** Clock skew tolerated when checking `exp`, `nbf` and `iat`. Default `5s`. */
  clockTolerance?: Duration
  /** Where log lines go. Default: nowhere. */
  logger?: AuthLogger
  /**
   * Brute-force limits (docs/security.md): per-login-name-and-IP, per-name and per-IP failed
   * logins, registrations and refreshes per IP, password-reset requests. Counters in memory, or in
   * Redis with `redisUrl`. `false` turns every limit off (benchmarks only). Default: the limits of
   * `DEFAULT_RATE_LIMITS`, in memory.
   */
  rateLimit?: RateLimitOptions | false
  /**
   * How long `requireAuth({ checkSession: true })` may trust a session status it read, so that the
   * check costs a storage read per session per window rather than per request. Revocations made
   * through this instance take effect at once; those made elsewhere within this time. `0` disables
   * the cache. Default `2s`.
   */
  sessionCheckCacheTtl?: Duration
  /**
   * Cookie name prefixes (OWASP): `host` names the access cookie `__Host-accessToken` and the
   * refresh cookie `__Secure-refreshToken` (its `Path` is the base path, which `__Host-` forbids);
   * `secure` gives both `__Secure-`. Both need `cookieSecure`. Default `none` (the reference
   * design's names).
   */
  cookiePrefix?: CookiePrefix
  /** Called with every security event (login, refresh reuse, revocation...). Never blocks a request. */
  onEvent?: SecurityEventListener
  /**
   * How often signing keys are re-read from storage, so that a rotation made elsewhere (the
   * `tokenpair keys rotate` CLI, another instance) takes effect without a restart. Default `60s`.
   */
  keyReloadInterval?: Duration
  /**
   * How often dead sessions, expired refresh tokens and expired mail tokens are deleted
   * (`Storage.deleteExpired`). Default `1h`; `0` turns the sweep off (run `auth.sweep()` yourself).
   */
  sweepInterval?: Duration
  /**
   * `APP_URL`: where the pages `/verify-email` and `/reset-password` live; mail links start with
   * it. Default: the request's own origin, but only when its host is loopback (`localhost`,
   * `127.0.0.1`, `[::1]`) or one of `allowedOrigins`: a `Host` header is the client's to choose,
   * and a reset link built from a forged one would mail the token to the forger's site
   * (docs/email.md). Set it in production.
   */
  appUrl?: string
  /** Lifetime of a verification link (`EMAIL_VERIFY_TTL`). Default `24h`. */
  emailVerifyTtl?: Duration
  /** Lifetime of a password-reset link (`PASSWORD_RESET_TTL`). Default `1h`. */
  passwordResetTtl?: Duration
  /** Outgoing mail: SMTP, outbox folder, sender, templates, retries (docs/email.md). Default: `.eml` files in `./data/outbox`. */
  mail?: MailOptions
}

/** {@link AuthOptions} with every default applied, durations in milliseconds, frozen. */
export interface ResolvedOptions {
  readonly storage: Storage | null
  readonly databaseUrl: string | null
  readonly secret: string | null
  readonly algorithm: AccessTokenAlgorithm
  readonly accessTokenSecret: string | null
  readonly refreshTokenSecret: string | null
  readonly issuer: string
  readonly audience: string
  readonly accessTokenTtlMs: number
  readonly refreshTokenTtlMs: number
  readonly sessionMaxAgeMs: number
  readonly refreshReuseGraceMs: number
  readonly clockToleranceMs: number
  readonly allowedOrigins: readonly string[]
  readonly cookieSecure: boolean
  readonly basePath: string
  readonly logger: AuthLogger
  readonly rateLimits: ResolvedRateLimits
  readonly sessionCheckCacheTtlMs: number
  readonly cookiePrefix: CookiePrefix
  readonly onEvent: SecurityEventListener | null
  readonly keyReloadIntervalMs: number
  readonly sweepIntervalMs: number
  readonly appUrl: string | null
  readonly emailVerifyTtlMs: number
  readonly passwordResetTtlMs: number
  readonly mail: ResolvedMailOptions
}

function resolveSecret(name: string, value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  if (value.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(name, `too short: at least ${MIN_SECRET_LENGTH} characters are required`)
  }
  return value
}

function resolveOrigin(name: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, `not an origin: ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `not an http(s) origin: ${JSON.stringify(value)}`)
  }
  return url.origin
}

function resolveCookiePrefix(value: CookiePrefix | undefined, secure: boolean): CookiePrefix {
  const prefix = value ?? 'none'
  if (prefix !== 'none' && prefix !== 'secure' && prefix !== 'host') {
    throw new ConfigError('cookiePrefix', 'must be none, secure or host')
  }
  // Browsers drop a __Secure- or __Host- cookie that lacks Secure: refuse rather than lose it.
  if (prefix !== 'none' && !secure) throw new ConfigError('cookiePrefix', `${prefix} needs cookieSecure`)
  return prefix
}

/**
 * Checks `options`, applies the defaults and freezes the result. A wrong setting throws a
 * {@link ConfigError} that names it.
 */
export function resolveOptions(options: AuthOptions): ResolvedOptions {
  const algorithm = options.algorithm ?? 'EdDSA'
  if (!ACCESS_TOKEN_ALGORITHMS.includes(algorithm)) {
    throw new ConfigError(
      'algorithm',
      `unknown algorithm ${JSON.stringify(algorithm)}; use EdDSA, ES256, RS256 or HS256`,
    )
  }
  const secret = resolveSecret('secret', options.secret)
  const accessTokenSecret = resolveSecret('accessTokenSecret', options.accessTokenSecret)
  const refreshTokenSecret = resolveSecret('refreshTokenSecret', options.refreshTokenSecret)
  if (algorithm === 'HS256' && accessTokenSecret === null) {
    throw new ConfigError('accessTokenSecret', 'HS256 needs an access-token secret')
  }
  if (secret === null && !(algorithm === 'HS256' && refreshTokenSecret !== null)) {
    throw new ConfigError('secret', 'required (at least 32 characters)')
  }
  if (
    typeof options.database !== 'string' &&
    (options.database === null || typeof options.database !== 'object')
  ) {
    throw new ConfigError('database', 'a database URL or a Storage is required')
  }
  const accessTokenTtlMs = resolveDuration('accessTokenTtl', options.accessTokenTtl, '15m', { min: 1000 })
  const refreshTokenTtlMs = resolveDuration('refreshTokenTtl', options.refreshTokenTtl, '7d', { min: 1000 })
  const sessionMaxAgeMs = resolveDuration('sessionMaxAge', options.sessionMaxAge, '30d', { min: 1000 })
  const basePath = options.basePath ?? '/auth'
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(basePath))
    throw new ConfigError('basePath', 'must be a path such as /auth')
  const resolved: ResolvedOptions = {
    storage: typeof options.database === 'string' ? null : options.database,
    databaseUrl: typeof options.database === 'string' ? options.database : null,
    secret,
    algorithm,
    accessTokenSecret,
    refreshTokenSecret,
    issuer: options.issuer ?? 'tokenpair',
    audience: options.audience ?? 'tokenpair',
    accessTokenTtlMs,
    refreshTokenTtlMs,
    sessionMaxAgeMs,
    refreshReuseGraceMs: resolveDuration('refreshReuseGrace', options.refreshReuseGrace, '10s', { min: 0 }),
    clockToleranceMs: resolveDuration('clockTolerance', options.clockTolerance, '5s', { min: 0 }),
    allowedOrigins: Object.freeze(
      (options.allowedOrigins ?? []).map((o) => resolveOrigin('allowedOrigins', o)),
    ),
    cookieSecure: options.cookieSecure ?? true,
    basePath: basePath.length > 1 ? basePath.replace(/\/+$/, '') : basePath,
    logger: options.logger ?? SILENT_LOGGER,
    rateLimits: resolveRateLimits(options.rateLimit),
    sessionCheckCacheTtlMs: resolveDuration('sessionCheckCacheTtl', options.sessionCheckCacheTtl, '2s', {
      min: 0,
    }),
    cookiePrefix: resolveCookiePrefix(options.cookiePrefix, options.cookieSecure ?? true),
    onEvent: options.onEvent ?? null,
    keyReloadIntervalMs: resolveDuration('keyReloadInterval', options.keyReloadInterval, '60s', {
      min: 100,
      max: MAX_TIMER_MS,
    }),
    sweepIntervalMs: resolveDuration('sweepInterval', options.sweepInterval, '1h', {
      min: 0,
      max: MAX_TIMER_MS,
    }),
    appUrl: resolveAppUrl(options.appUrl),
    emailVerifyTtlMs: resolveDuration('emailVerifyTtl', options.emailVerifyTtl, '24h', { min: 1000 }),
    passwordResetTtlMs: resolveDuration('passwordResetTtl', options.passwordResetTtl, '1h', { min: 1000 }),
    mail: resolveMailOptions(options.mail),
  }
  if (resolved.issuer === '') throw new ConfigError('issuer', 'must not be empty')
  if (resolved.audience === '') throw new ConfigError('audience', 'must not be empty')
  return Object.freeze(resolved)
}
