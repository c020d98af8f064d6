import { join } from 'node:path'
import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from '../common/algorithms.js'
import { MAX_LIFETIME_MS, MAX_TIMER_MS, parseDuration } from '../common/duration.js'
import { ConfigError } from '../errors.js'
import { readRateLimitEnv } from '../limits/rate-limit-settings.js'
import { resolveAppUrl, resolveMailOptions } from '../mail/mail-options.js'
import type { AuthOptions } from './options.js'

/** pino's levels, `silent` included. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The server's settings, read from the environment (API.md "Configuration"). */
export interface ServerConfig {
  host: string
  port: number
  databaseUrl: string
  /** Where generated files live (the SQLite file by default, the generated `AUTH_SECRET`, the mail outbox). */
  dataDir: string
  logLevel: LogLevel
  /** Express `trust proxy`: `false` unless `TRUST_PROXY` says which proxies to believe. */
  trustProxy: boolean | number | string
  /** `AUTH_SECRET`, or `null` when the server must load or generate one. */
  authSecret: string | null
  /** `SHUTDOWN_TIMEOUT` in ms: how long requests in flight may take to finish on SIGTERM. Default 10 s. */
  shutdownTimeoutMs: number
  /** `SHUTDOWN_DELAY` in ms: how long `/readyz` answers 503 before the listener closes, so a balancer notices. Default 0. */
  shutdownDelayMs: number
  /** `EVENTS_WEBHOOK_URL`: where `refresh_reused` events are `POST`ed, or `null`. */
  eventsWebhookUrl: string | null
  /** `DEMO_PAGE`: serve the demo page at `/`. Default `true`. */
  demoPage: boolean
  /** Everything of `createAuth` but the database and the secret. */
  auth: Omit<AuthOptions, 'database' | 'secret'>
}

type Env = Readonly<Record<string, string | undefined>>

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function readDuration(env: Env, name: string): string | undefined {
  const value = read(env, name)
  if (value !== undefined && parseDuration(value) === null) {
    throw new ConfigError(name, `not a duration (use e.g. 90s, 25m, 12h, 7d): ${JSON.stringify(value)}`)
  }
  return value
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = read(env, name)?.toLowerCase()
  if (value === undefined) return fallback
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(name, `must be true or false, not ${JSON.stringify(value)}`)
}

function readPort(env: Env): number {
  const value = read(env, 'PORT') ?? '8000'
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535)
    throw new ConfigError('PORT', `not a port number: ${JSON.stringify(value)}`)
  return port
}

function readTrustProxy(env: Env): boolean | number | string {
  const value = read(env, 'TRUST_PROXY')
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  return value
}

/** Names of the mail settings' variables, for a `ConfigError` raised by the option checks. */
const MAIL_ENV: Readonly<Record<string, string>> = {
  'mail.smtpUrl': 'SMTP_URL',
  'mail.from': 'MAIL_FROM',
  appUrl: 'APP_URL',
}

/** `SMTP_URL`, `MAIL_FROM` and `APP_URL` (docs/email.md); without `SMTP_URL`, mail goes to `DATA_DIR/outbox`. */
function readMailEnv(env: Env, dataDir: string, auth: ServerConfig['auth']): void {
  auth.mail = { outboxDir: join(dataDir, 'outbox') }
  const smtpUrl = read(env, 'SMTP_URL')
  if (smtpUrl !== undefined) auth.mail.smtpUrl = smtpUrl
  const from = read(env, 'MAIL_FROM')
  if (from !== undefined) auth.mail.from = from
  const appUrl = read(env, 'APP_URL')
  if (appUrl !== undefined) auth.appUrl = appUrl
  try {
    resolveMailOptions(auth.mail)
    resolveAppUrl(auth.appUrl)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const name = MAIL_ENV[error.setting] ?? error.setting
    throw new ConfigError(name, error.message.slice(error.setting.length + 2))
  }
}

/**
 * Reads and checks the server's environment. A wrong value throws a {@link ConfigError} naming
 * the variable; the server prints that one line and stops.
 */
export function readServerConfig(env: Env): ServerConfig {
  const alg = read(env, 'JWT_ALG') ?? 'EdDSA'
  if (!(ACCESS_TOKEN_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new ConfigError(
      'JWT_ALG',
      `unknown algorithm ${JSON.stringify(alg)}; use EdDSA, ES256, RS256 or HS256`,
    )
  }
  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info').toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`)
  }
  const accessTokenSecret = read(env, 'ACCESS_TOKEN_SECRET')
  const refreshTokenSecret = read(env, 'REFRESH_TOKEN_SECRET')
  if (alg === 'HS256' && accessTokenSecret === undefined) {
    throw new ConfigError('ACCESS_TOKEN_SECRET', 'required when JWT_ALG=HS256')
  }
  for (const [name, value] of [
    ['AUTH_SECRET', read(env, 'AUTH_SECRET')],
    ['ACCESS_TOKEN_SECRET', accessTokenSecret],
    ['REFRESH_TOKEN_SECRET', refreshTokenSecret],
  ] as const) {
    if (value !== undefined && value.length < 32)
      throw new ConfigError(name, 'too short: at least 32 characters')
  }
  const allowedOrigins = (read(env, 'ALLOWED_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
  for (const origin of allowedOrigins) {
    let ok = false
    try {
      const url = new URL(origin)
      ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin.replace(/\/$/, '')
    } catch {
      ok = false
    }
    if (!ok)
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        `not an origin (scheme://host[:port]): ${JSON.stringify(origin)}`,
      )
  }
  const issuer = read(env, 'JWT_ISSUER') ?? 'tokenpair'
  const audience = read(env, 'JWT_AUDIENCE') ?? 'tokenpair'
  const auth: ServerConfig['auth'] = {
    algorithm: alg as AccessTokenAlgorithm,
    issuer,
    audience,
    allowedOrigins,
    cookieSecure: readBoolean(env, 'COOKIE_SECURE', true),
  }
  if (accessTokenSecret !== undefined) auth.accessTokenSecret = accessTokenSecret
  // RATE_LIMIT=off, RATE_LIMIT_* and REDIS_URL (docs/security.md).
  auth.rateLimit = readRateLimitEnv(env)
  const cookiePrefix = read(env, 'COOKIE_PREFIX')?.toLowerCase()
  if (cookiePrefix !== undefined) {
    if (cookiePrefix !== 'none' && cookiePrefix !== 'secure' && cookiePrefix !== 'host') {
      throw new ConfigError('COOKIE_PREFIX', 'must be none, secure or host')
    }
    if (cookiePrefix !== 'none' && auth.cookieSecure === false) {
      throw new ConfigError('COOKIE_PREFIX', `${cookiePrefix} needs COOKIE_SECURE=true`)
    }
    auth.cookiePrefix = cookiePrefix
  }
  const sessionCheckCacheTtl = readDuration(env, 'SESSION_CHECK_CACHE_TTL')
  if (sessionCheckCacheTtl !== undefined) auth.sessionCheckCacheTtl = sessionCheckCacheTtl
  if (refreshTokenSecret !== undefined) auth.refreshTokenSecret = refreshTokenSecret
  const durations = [
    ['ACCESS_TOKEN_TTL', 'accessTokenTtl', MAX_LIFETIME_MS],
    ['REFRESH_TOKEN_TTL', 'refreshTokenTtl', MAX_LIFETIME_MS],
    ['SESSION_MAX_AGE', 'sessionMaxAge', MAX_LIFETIME_MS],
    ['REFRESH_REUSE_GRACE', 'refreshReuseGrace', MAX_LIFETIME_MS],
    ['KEY_RELOAD_INTERVAL', 'keyReloadInterval', MAX_TIMER_MS],
    ['SWEEP_INTERVAL', 'sweepInterval', MAX_TIMER_MS],
    ['EMAIL_VERIFY_TTL', 'emailVerifyTtl', MAX_LIFETIME_MS],
    ['PASSWORD_RESET_TTL', 'passwordResetTtl', MAX_LIFETIME_MS],
  ] as const
  for (const [name, key, max] of durations) {
    const value = readDuration(env, name)
    if (value !== undefined && parseDuration(value)! > max)
      throw new ConfigError(name, `must be at most ${max} ms`)
    if (value !== undefined) auth[key] = value
  }
  const dataDir = read(env, 'DATA_DIR') ?? './data'
  const databaseUrl = read(env, 'DATABASE_URL') ?? `sqlite:${dataDir.replace(/\/+$/, '')}/tokenpair.db`
  readMailEnv(env, dataDir, auth)
  const shutdownTimeoutMs = parseDuration(readDuration(env, 'SHUTDOWN_TIMEOUT') ?? '10s')!
  if (shutdownTimeoutMs > MAX_TIMER_MS)
    throw new ConfigError('SHUTDOWN_TIMEOUT', `must be at most ${MAX_TIMER_MS} ms`)
  const shutdownDelayMs = parseDuration(readDuration(env, 'SHUTDOWN_DELAY') ?? '0')!
  if (shutdownDelayMs > MAX_TIMER_MS)
    throw new ConfigError('SHUTDOWN_DELAY', `must be at most ${MAX_TIMER_MS} ms`)
  const eventsWebhookUrl = read(env, 'EVENTS_WEBHOOK_URL') ?? null
  if (eventsWebhookUrl !== null && !/^https?:\/\/[^\s]+$/.test(eventsWebhookUrl)) {
    throw new ConfigError('EVENTS_WEBHOOK_URL', 'must be an http(s) URL')
  }
  return {
    host: read(env, 'HOST') ?? '127.0.0.1',
    shutdownTimeoutMs,
    shutdownDelayMs,
    eventsWebhookUrl,
    demoPage: readBoolean(env, 'DEMO_PAGE', true),
    port: readPort(env),
    databaseUrl,
    dataDir,
    logLevel: logLevel as LogLevel,
    trustProxy: readTrustProxy(env),
    authSecret: read(env, 'AUTH_SECRET') ?? null,
    auth,
  }
}
