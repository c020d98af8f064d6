import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { MAX_TIMER_MS, resolveDuration } from '../common/duration.js'
import { ConfigError } from '../errors.js'
import {
  DEFAULT_RATE_LIMITS,
  LIMIT_NAMES,
  RATE_LIMIT_ENV,
  type RateLimitOptions,
  resolveRateLimits,
} from '../limits/rate-limit-settings.js'
import { MAIL_DEFAULTS, type MailOptions } from '../mail/mail-options.js'
import { readProvidersEnv } from './oidc-providers.js'
import {
  type AuthOptions,
  MIN_SECRET_LENGTH,
  OPTION_DEFAULTS,
  resolveOptions,
  type WebAuthnOptions,
} from './options.js'

/** pino's levels, `silent` included. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
/** A level of the server's log (`LOG_LEVEL`). */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The server's settings, read from the environment (docs/configuration.md). */
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
  /** `EVENTS_WEBHOOK_SECRET`: signs webhook bodies (`X-Tokenpair-Signature`), or `null` for unsigned. */
  eventsWebhookSecret: string | null
  /** `METRICS_TOKEN`: the bearer token `/metrics` demands, or `null` for an open `/metrics`. */
  metricsToken: string | null
  /** `DEMO_PAGE`: serve the demo page at `/`. Default `true`. */
  demoPage: boolean
  /** Everything of `createAuth` but the database and the secret. */
  auth: Omit<AuthOptions, 'database' | 'secret'>
}

/**
 * How the text of a variable is read. A variable that sets a `createAuth` option is only converted
 * to the option's type (`boolean`, `list`, `limit`, `switch`; the others stay text) and then
 * checked by `resolveOptions`, the one place the option rules live; a server setting is checked
 * here, by its kind.
 */
export type EnvKind =
  /** Text as given. */
  | 'string'
  /** A word, any case: lowercased. */
  | 'keyword'
  /** `true`, `false`, `1`, `0`, `on` or `off`. */
  | 'boolean'
  /** A `boolean` that only turns a group option off (`false`); on leaves it to its members. */
  | 'switch'
  /** `90s`, `25m`, `12h`, `7d`, `0`; a server setting is a timer (at most `MAX_TIMER_MS`). */
  | 'duration'
  /** Comma-separated values; blanks dropped. */
  | 'list'
  /** `POINTS/DURATION` (`10/15m`) or `off`. */
  | 'limit'
  /** A URL; a server setting must be http(s). */
  | 'url'
  /** A secret of at least 32 characters. */
  | 'secret'
  /** A TCP port, 0 to 65535. */
  | 'port'
  /** A whole number (the option checks its range). */
  | 'count'
  /** One of pino's levels. */
  | 'log-level'
  /** `false`, `true`, a number of hops, or the addresses Express `trust proxy` takes. */
  | 'trust-proxy'

/** A `createAuth` option that a variable can set: a top-level option or a member of `rateLimit` or `mail`. */
export type EnvOption =
  | keyof AuthOptions
  | `rateLimit.${keyof RateLimitOptions & string}`
  | `mail.${keyof MailOptions & string}`
  | `webauthn.${keyof WebAuthnOptions & string}`

/** One environment variable of the server. */
export interface EnvVariable {
  /** The variable. */
  readonly name: string
  /**
   * The `createAuth` option it sets. A {@link ConfigError} the option's rules raise about its value
   * is reported under {@link name}.
   */
  readonly option?: EnvOption
  /**
   * The {@link ServerConfig} field it fills: the server's own settings, and the database and the
   * secret, which the server hands to `createAuth` itself. Without it the value goes to
   * `ServerConfig.auth` at {@link option}.
   */
  readonly setting?: Exclude<keyof ServerConfig, 'auth'>
  /** How its text is read. */
  readonly kind: EnvKind
  /**
   * The default, written as a value of the variable (`15m`, `true`, `10/1h`), taken from where the
   * setting's rules live; `null` when unset means none (or see {@link derived}).
   */
  readonly default: string | null
  /** A default that depends on another variable, in words: `sqlite:DATA_DIR/tokenpair.db`. */
  readonly derived?: string
}

/** `OPTION_DEFAULTS[name]` as the text of a variable. */
function defaultOf(name: keyof typeof OPTION_DEFAULTS): string {
  const value: unknown = OPTION_DEFAULTS[name]
  return Array.isArray(value) ? value.join(',') : String(value)
}

/** The row of a variable that sets the top-level option `option`, its default read from `OPTION_DEFAULTS`. */
function forOption(name: string, option: keyof typeof OPTION_DEFAULTS, kind: EnvKind): EnvVariable {
  return { name, option, kind, default: defaultOf(option) }
}

/**
 * The rows of options whose variable is the option's own name in upper snake case
 * (`accessTokenTtl` → `ACCESS_TOKEN_TTL`), all read as `kind`.
 */
function forOptions(kind: EnvKind, options: readonly (keyof typeof OPTION_DEFAULTS)[]): EnvVariable[] {
  return options.map((option) =>
    forOption(option.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), option, kind),
  )
}

/**
 * Every variable the server reads, in the order of docs/configuration.md: one row each, naming the
 * option or setting it fills, how its text is read and its default.
 */
export const ENV_VARIABLES: readonly EnvVariable[] = Object.freeze([
  { name: 'PORT', setting: 'port', kind: 'port', default: '8000' },
  { name: 'HOST', setting: 'host', kind: 'string', default: '127.0.0.1' },
  { name: 'DATA_DIR', setting: 'dataDir', kind: 'string', default: './data' },
  {
    name: 'DATABASE_URL',
    option: 'database',
    setting: 'databaseUrl',
    kind: 'url',
    default: null,
    derived: 'sqlite:DATA_DIR/tokenpair.db',
  },
  forOption('TABLE_PREFIX', 'tablePrefix', 'string'),
  {
    name: 'AUTH_SECRET',
    option: 'secret',
    setting: 'authSecret',
    kind: 'string',
    default: null,
    derived: 'generated into DATA_DIR/auth-secret on first start',
  },
  forOption('JWT_ALG', 'algorithm', 'string'),
  { name: 'ACCESS_TOKEN_SECRET', option: 'accessTokenSecret', kind: 'string', default: null },
  { name: 'REFRESH_TOKEN_SECRET', option: 'refreshTokenSecret', kind: 'string', default: null },
  forOption('JWT_ISSUER', 'issuer', 'string'),
  forOption('JWT_AUDIENCE', 'audience', 'string'),
  ...forOptions('duration', [
    'accessTokenTtl',
    'refreshTokenTtl',
    'sessionMaxAge',
    'refreshReuseGrace',
    'sessionCheckCacheTtl',
    'keyReloadInterval',
    'sweepInterval',
  ]),
  ...forOptions('list', ['allowedOrigins']),
  ...forOptions('boolean', ['cookieSecure']),
  ...forOptions('keyword', ['cookiePrefix']),
  { name: 'RATE_LIMIT', option: 'rateLimit', kind: 'switch', default: 'on' },
  ...LIMIT_NAMES.map(
    (limit): EnvVariable => ({
      name: RATE_LIMIT_ENV[limit],
      option: `rateLimit.${limit}`,
      kind: 'limit',
      default: DEFAULT_RATE_LIMITS[limit],
    }),
  ),
  { name: 'REDIS_URL', option: 'rateLimit.redisUrl', kind: 'url', default: null },
  { name: 'SMTP_URL', option: 'mail.smtpUrl', kind: 'url', default: null },
  { name: 'MAIL_FROM', option: 'mail.from', kind: 'string', default: MAIL_DEFAULTS.from },
  { name: 'APP_URL', option: 'appUrl', kind: 'url', default: null },
  ...forOptions('duration', ['emailVerifyTtl', 'passwordResetTtl']),
  { name: 'MAX_SESSIONS_PER_USER', option: 'maxSessionsPerUser', kind: 'count', default: null },
  // The names of the providers; each one's own OIDC_<NAME>_* variables are read by readProvidersEnv.
  { name: 'OIDC_PROVIDERS', option: 'providers', kind: 'list', default: null },
  forOption('DPOP', 'dpop', 'keyword'),
  forOption('DPOP_NONCE', 'dpopNonce', 'boolean'),
  ...forOptions('duration', ['reauthMaxAge']),
  {
    name: 'WEBAUTHN_RP_ID',
    option: 'webauthn.rpId',
    kind: 'string',
    default: null,
    derived: 'the host of APP_URL, else of a loopback request',
  },
  { name: 'WEBAUTHN_RP_NAME', option: 'webauthn.rpName', kind: 'string', default: 'tokenpair' },
  { name: 'LOG_LEVEL', setting: 'logLevel', kind: 'log-level', default: 'info' },
  { name: 'TRUST_PROXY', setting: 'trustProxy', kind: 'trust-proxy', default: 'false' },
  { name: 'SHUTDOWN_TIMEOUT', setting: 'shutdownTimeoutMs', kind: 'duration', default: '10s' },
  { name: 'SHUTDOWN_DELAY', setting: 'shutdownDelayMs', kind: 'duration', default: '0' },
  { name: 'EVENTS_WEBHOOK_URL', setting: 'eventsWebhookUrl', kind: 'url', default: null },
  { name: 'EVENTS_WEBHOOK_SECRET', setting: 'eventsWebhookSecret', kind: 'secret', default: null },
  { name: 'METRICS_TOKEN', setting: 'metricsToken', kind: 'secret', default: null },
  { name: 'DEMO_PAGE', setting: 'demoPage', kind: 'boolean', default: 'true' },
] satisfies EnvVariable[])

type Env = Readonly<Record<string, string | undefined>>

function readBoolean(name: string, text: string): boolean {
  const value = text.toLowerCase()
  if (value === 'true' || value === '1' || value === 'on') return true
  if (value === 'false' || value === '0' || value === 'off') return false
  throw new ConfigError(name, `must be true or false (or on, off, 1, 0), not ${JSON.stringify(text)}`)
}

/** The value of `text` for `variable`: converted, and checked when it is a server setting. */
function parseText(variable: EnvVariable, text: string): unknown {
  const { name, kind } = variable
  const isOption = variable.option !== undefined
  switch (kind) {
    case 'keyword':
      return text.toLowerCase()
    case 'boolean':
      return readBoolean(name, text)
    case 'switch':
      return readBoolean(name, text) ? undefined : false
    case 'list':
      return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    case 'limit':
      return text.toLowerCase() === 'off' ? false : text
    case 'duration':
      return isOption ? text : resolveDuration(name, text, text, { max: MAX_TIMER_MS })
    case 'url':
      if (!isOption && !/^https?:\/\/[^\s]+$/.test(text))
        throw new ConfigError(name, 'must be an http(s) URL')
      return text
    case 'count':
      if (!/^\d{1,9}$/.test(text)) throw new ConfigError(name, `not a whole number: ${JSON.stringify(text)}`)
      return Number(text)
    case 'port':
      if (!/^\d+$/.test(text) || Number(text) > 65535)
        throw new ConfigError(name, `not a port number: ${JSON.stringify(text)}`)
      return Number(text)
    case 'log-level':
      if (!(LOG_LEVELS as readonly string[]).includes(text.toLowerCase()))
        throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(', ')}`)
      return text.toLowerCase()
    case 'trust-proxy':
      if (text === 'false' || text === 'true') return text === 'true'
      return /^\d+$/.test(text) ? Number(text) : text
    case 'secret':
      if (text.length < MIN_SECRET_LENGTH)
        throw new ConfigError(name, `too short: at least ${MIN_SECRET_LENGTH} characters are required`)
      return text
    case 'string':
      return text
  }
}

type Values = Record<string, unknown>

/** Puts `value` at the option path `path` (`mail.from`) of `auth`. */
function setOption(auth: Values, path: string, value: unknown): void {
  const [group, member] = path.split('.') as [string, string | undefined]
  if (member === undefined) {
    auth[group] = value
    return
  }
  // RATE_LIMIT=off turned the whole group off: its members no longer matter.
  if (auth[group] === false) return
  auth[group] = { ...(auth[group] as Values | undefined), [member]: value }
}

/**
 * Reads `variables` from `env`. An unset variable takes its default, but a member of a group option
 * (`rateLimit.*`, `mail.*`) stays unset: the group's own resolver applies those defaults.
 */
function readVariables(env: Env, variables: readonly EnvVariable[]): { auth: Values; settings: Values } {
  const auth: Values = {}
  const settings: Values = {}
  for (const variable of variables) {
    const text = env[variable.name]?.trim()
    const given = text !== undefined && text !== ''
    const fills = variable.setting !== undefined || !variable.option?.includes('.')
    let value: unknown = null
    if (given) value = parseText(variable, text)
    else if (variable.default !== null && fills) value = parseText(variable, variable.default)
    if (variable.setting !== undefined) settings[variable.setting] = value
    else if (value !== null && value !== undefined) setOption(auth, variable.option!, value)
  }
  return { auth, settings }
}

const VARIABLE_OF_OPTION: ReadonlyMap<string, string> = new Map(
  ENV_VARIABLES.flatMap((v) => (v.option === undefined ? [] : [[v.option, v.name] as const])),
)

/** Runs an option check on values read from the environment: its error names the variable, not the option. */
function checkOptions(check: () => unknown): void {
  try {
    check()
  } catch (error) {
    const name = error instanceof ConfigError ? VARIABLE_OF_OPTION.get(error.setting) : undefined
    if (name === undefined) throw error
    throw new ConfigError(
      name,
      (error as ConfigError).message.slice((error as ConfigError).setting.length + 2),
    )
  }
}

/**
 * Reads the rate-limit variables: `RATE_LIMIT=off` turns every limit off (benchmarks), each
 * `RATE_LIMIT_*` sets one limit as `POINTS/DURATION` or `off`, `REDIS_URL` shares the counters.
 * Returns `false` or the options for `createAuth`; a bad value throws a `ConfigError` naming it.
 */
export function readRateLimitEnv(env: Env): RateLimitOptions | false {
  const variables = ENV_VARIABLES.filter((v) => v.option?.split('.')[0] === 'rateLimit')
  const rateLimit = (readVariables(env, variables).auth.rateLimit ?? {}) as RateLimitOptions | false
  checkOptions(() => resolveRateLimits(rateLimit))
  return rateLimit
}

/**
 * Stands in for an unset `AUTH_SECRET` while the options are checked: the server loads or makes
 * one (random, so that it equals no other secret).
 */
function standInSecret(): string {
  return randomBytes(MIN_SECRET_LENGTH).toString('base64url')
}

/**
 * Reads and checks the server's environment ({@link ENV_VARIABLES}). A wrong value throws a
 * {@link ConfigError} naming the variable; the server prints that one line and stops.
 *
 * @example
 * ```ts
 * const config = readServerConfig(process.env)
 * ```
 */
export function readServerConfig(env: Env): ServerConfig {
  const { auth, settings } = readVariables(env, ENV_VARIABLES)
  const dataDir = settings.dataDir as string
  // Without SMTP_URL, mail goes to files in the data folder.
  auth.mail = { outboxDir: join(dataDir, 'outbox'), ...(auth.mail as MailOptions | undefined) }
  if (Array.isArray(auth.providers)) auth.providers = readProvidersEnv(env, auth.providers as string[])
  const config = {
    ...settings,
    databaseUrl: settings.databaseUrl ?? `sqlite:${dataDir.replace(/\/+$/, '')}/tokenpair.db`,
    auth,
  } as ServerConfig
  checkOptions(() =>
    resolveOptions({
      ...config.auth,
      database: config.databaseUrl,
      secret: config.authSecret ?? standInSecret(),
    }),
  )
  return config
}
