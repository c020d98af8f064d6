import { type Duration, resolveDuration } from '../common/duration.js'
import { ConfigError } from '../errors.js'
import type { RedisClientLike } from './redis.js'

/** One limit: at most `points` counted events per `duration` window (fixed, from the first event). */
export interface LimitSetting {
  /** Events allowed in one window. */
  points: number
  /** Window length, e.g. `15m`. */
  duration: Duration
}

/**
 * A limit: a {@link LimitSetting}, the text `POINTS/DURATION` (`10/15m`, as in the environment
 * variables), or `false` for none.
 */
export type LimitOption = LimitSetting | string | false

/** The limits of tokenpair, by name. */
export interface RateLimitSettings {
  /** Failed logins per login name and client IP. Default `10/1h`. Env `RATE_LIMIT_LOGIN_PAIR`. */
  loginPair?: LimitOption
  /**
   * Failed logins per login name from any IP: stops a guess spread over many addresses. Set it
   * high enough that a stranger cannot lock a user out for long. Default `50/1h`. Env
   * `RATE_LIMIT_LOGIN_NAME`.
   */
  loginName?: LimitOption
  /** Failed logins per client IP, any name (password spraying). Default `100/1d`. Env `RATE_LIMIT_LOGIN_IP`. */
  loginIp?: LimitOption
  /** Registrations per client IP. Default `20/1h`. Env `RATE_LIMIT_REGISTER`. */
  register?: LimitOption
  /**
   * Refused refresh tokens per client IP (an honoured refresh gives its point back). Default
   * `120/1m`. Env `RATE_LIMIT_REFRESH`.
   */
  refresh?: LimitOption
  /** Password-reset requests per client IP. Default `10/1h`. Env `RATE_LIMIT_RESET_IP`. */
  resetRequestIp?: LimitOption
  /** Password-reset requests per email address. Default `3/1h`. Env `RATE_LIMIT_RESET_ADDRESS`. */
  resetRequestAddress?: LimitOption
  /**
   * Verification mails per email address (registration, a new address, a request): past it the
   * mail is not sent, so an account cannot be used to flood someone else's inbox. Default `5/1h`.
   * Env `RATE_LIMIT_VERIFY_ADDRESS`.
   */
  verifyMailAddress?: LimitOption
  /**
   * Sensitive account changes per user (`PATCH /auth/me`, and the routes that need
   * re-authentication): each request counts, so that a stolen access token can neither probe
   * which addresses are registered nor guess the current password quickly. Default `10/1h`. Env
   * `RATE_LIMIT_SENSITIVE_USER`.
   */
  sensitiveUser?: LimitOption
  /** Sensitive account changes per client IP, any user. Default `30/1h`. Env `RATE_LIMIT_SENSITIVE_IP`. */
  sensitiveIp?: LimitOption
  /**
   * Identity-provider callbacks per client IP (`GET /auth/oidc/:provider/callback`): each one
   * costs a request to the provider, so every callback counts, good or bad. Default `30/15m`. Env
   * `RATE_LIMIT_OIDC_CALLBACK`.
   */
  oidcCallback?: LimitOption
  /**
   * Passkey login challenges per client IP (`POST /auth/passkeys/login/options`) that no login
   * used: each request stores a challenge for five minutes, so an unauthenticated client must not
   * be able to fill the storage with them. A passkey login that succeeds gives its challenge's
   * point back, so that only unused challenges accumulate. Default `60/15m`. Env
   * `RATE_LIMIT_PASSKEY_CHALLENGE`.
   */
  passkeyChallenge?: LimitOption
}

/** `rateLimit` option of `createAuth`. */
export interface RateLimitOptions extends RateLimitSettings {
  /** A Redis URL (`REDIS_URL`) for shared counters; needs the optional peer `ioredis`. Default: memory. */
  redisUrl?: string
  /** A ready `ioredis` client instead of `redisUrl`; tokenpair does not close it. */
  redis?: RedisClientLike
  /** Prefix of every counter key. Default `tokenpair`. */
  keyPrefix?: string
}

/** One limit in force: `null` when off. */
interface ResolvedLimit {
  points: number
  durationSeconds: number
}

/** {@link RateLimitOptions} checked, defaults applied. `null` limits are off. */
export interface ResolvedRateLimits {
  readonly loginPair: ResolvedLimit | null
  readonly loginName: ResolvedLimit | null
  readonly loginIp: ResolvedLimit | null
  readonly register: ResolvedLimit | null
  readonly refresh: ResolvedLimit | null
  readonly resetRequestIp: ResolvedLimit | null
  readonly resetRequestAddress: ResolvedLimit | null
  readonly verifyMailAddress: ResolvedLimit | null
  readonly sensitiveUser: ResolvedLimit | null
  readonly sensitiveIp: ResolvedLimit | null
  readonly oidcCallback: ResolvedLimit | null
  readonly passkeyChallenge: ResolvedLimit | null
  readonly redisUrl: string | null
  readonly redis: RedisClientLike | null
  readonly keyPrefix: string
}

/** Default limits (see {@link RateLimitSettings}). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<keyof RateLimitSettings, string>> = Object.freeze({
  loginPair: '10/1h',
  loginName: '50/1h',
  loginIp: '100/1d',
  register: '20/1h',
  refresh: '120/1m',
  resetRequestIp: '10/1h',
  resetRequestAddress: '3/1h',
  verifyMailAddress: '5/1h',
  sensitiveUser: '10/1h',
  sensitiveIp: '30/1h',
  oidcCallback: '30/15m',
  passkeyChallenge: '60/15m',
})

/** Environment variable of each limit. */
export const RATE_LIMIT_ENV: Readonly<Record<keyof RateLimitSettings, string>> = Object.freeze({
  loginPair: 'RATE_LIMIT_LOGIN_PAIR',
  loginName: 'RATE_LIMIT_LOGIN_NAME',
  loginIp: 'RATE_LIMIT_LOGIN_IP',
  register: 'RATE_LIMIT_REGISTER',
  refresh: 'RATE_LIMIT_REFRESH',
  resetRequestIp: 'RATE_LIMIT_RESET_IP',
  resetRequestAddress: 'RATE_LIMIT_RESET_ADDRESS',
  verifyMailAddress: 'RATE_LIMIT_VERIFY_ADDRESS',
  sensitiveUser: 'RATE_LIMIT_SENSITIVE_USER',
  sensitiveIp: 'RATE_LIMIT_SENSITIVE_IP',
  oidcCallback: 'RATE_LIMIT_OIDC_CALLBACK',
  passkeyChallenge: 'RATE_LIMIT_PASSKEY_CHALLENGE',
})

export const LIMIT_NAMES = Object.keys(DEFAULT_RATE_LIMITS) as (keyof RateLimitSettings)[]

/** rate-limiter-flexible's memory limiter keeps timers; past ~24 days they overflow. */
const MAX_WINDOW_MS = 2_000_000_000

function resolveLimit(name: string, value: LimitOption): ResolvedLimit | null {
  if (value === false || value === 'off') return null
  let points: number
  let duration: Duration
  if (typeof value === 'string') {
    const match = /^\s*(\d{1,9})\s*\/\s*(\S+)\s*$/.exec(value)
    if (!match)
      throw new ConfigError(
        name,
        `not a limit (use POINTS/DURATION, e.g. 10/15m, or off): ${JSON.stringify(value)}`,
      )
    points = Number(match[1])
    duration = match[2]!
  } else if (value && typeof value === 'object') {
    points = value.points
    duration = value.duration
  } else {
    throw new ConfigError(name, 'not a limit')
  }
  if (!Number.isInteger(points) || points < 1)
    throw new ConfigError(name, 'points must be a whole number of at least 1')
  // The window has no default: the value given is its own fallback.
  const ms = resolveDuration(name, duration, duration, { min: 1000, max: MAX_WINDOW_MS })
  return { points, durationSeconds: Math.ceil(ms / 1000) }
}

/**
 * Checks the `rateLimit` option of `createAuth` and applies the defaults. `false` turns every
 * limit off (for benchmarks; never in production). Throws a `ConfigError` naming the bad setting.
 */
export function resolveRateLimits(options: RateLimitOptions | false | undefined): ResolvedRateLimits {
  const given: RateLimitOptions = options === false ? {} : (options ?? {})
  const limits = {} as Record<keyof RateLimitSettings, ResolvedLimit | null>
  for (const name of LIMIT_NAMES) {
    limits[name] =
      options === false ? null : resolveLimit(`rateLimit.${name}`, given[name] ?? DEFAULT_RATE_LIMITS[name])
  }
  const keyPrefix = given.keyPrefix ?? 'tokenpair'
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(keyPrefix))
    throw new ConfigError('rateLimit.keyPrefix', 'use 1 to 64 of A-Z a-z 0-9 : _ . -')
  if (given.redisUrl !== undefined && !/^rediss?:\/\//.test(given.redisUrl)) {
    throw new ConfigError('rateLimit.redisUrl', 'must start with redis:// or rediss://')
  }
  return Object.freeze({
    ...limits,
    redisUrl: options === false ? null : (given.redisUrl ?? null),
    redis: options === false ? null : (given.redis ?? null),
    keyPrefix,
  })
}
