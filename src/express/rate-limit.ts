import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible'
import { parseDuration } from '../config/duration.js'
import type { AuthLogger, Duration } from '../config/options.js'
import { ConfigError, RateLimitError } from '../errors.js'

/**
 * Brute-force defences (API.md "Brute force"), on `rate-limiter-flexible`.
 *
 * - Logins: every attempt takes one point from three counters *before* the password is checked
 *   (login name + IP, login name, IP), atomically, so a burst of parallel guesses cannot slip past
 *   the limit and, while a counter is spent, even the right password is refused. A successful login
 *   gives the point back to the name and IP counters and resets the pair counter (the package's
 *   "login endpoint protection" pattern), so only failures accumulate.
 * - Refresh works the same way with one per-IP counter: an honoured token gives its point back.
 * - Registration and password-reset requests take one point per request.
 *
 * Counters live in process memory, or in Redis when a URL or client is given, so that every
 * instance shares them. When Redis fails, each instance falls back to its own in-memory counters
 * (fail open to a weaker limit, never to no limit and never to a 500), and says so once in the log.
 */

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
}

/** The few members of an `ioredis` client that tokenpair uses. */
export interface RedisClientLike {
  readonly status: string
  on(event: 'error' | 'ready' | 'close', listener: (...args: unknown[]) => void): unknown
  quit(): Promise<unknown>
  disconnect(): void
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
})

const LIMIT_NAMES = Object.keys(DEFAULT_RATE_LIMITS) as (keyof RateLimitSettings)[]

/** rate-limiter-flexible's memory limiter keeps timers; past ~24 days they overflow. */
const MAX_WINDOW_SECONDS = 2_000_000

function resolveLimit(name: string, value: LimitOption): ResolvedLimit | null {
  if (value === false || value === 'off') return null
  let points: number
  let ms: number | null
  if (typeof value === 'string') {
    const match = /^\s*(\d{1,9})\s*\/\s*(\S+)\s*$/.exec(value)
    if (!match)
      throw new ConfigError(
        name,
        `not a limit (use POINTS/DURATION, e.g. 10/15m, or off): ${JSON.stringify(value)}`,
      )
    points = Number(match[1])
    ms = parseDuration(match[2]!)
  } else if (value && typeof value === 'object') {
    points = value.points
    ms = typeof value.duration === 'number' ? value.duration : parseDuration(String(value.duration))
  } else {
    throw new ConfigError(name, 'not a limit')
  }
  if (!Number.isInteger(points) || points < 1)
    throw new ConfigError(name, 'points must be a whole number of at least 1')
  if (ms === null || !Number.isFinite(ms) || ms < 1000) {
    throw new ConfigError(name, 'the window must be a duration of at least 1s (e.g. 15m)')
  }
  const durationSeconds = Math.ceil(ms / 1000)
  if (durationSeconds > MAX_WINDOW_SECONDS) throw new ConfigError(name, 'the window must be at most 23d')
  return { points, durationSeconds }
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
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://')
  }
  return Object.freeze({
    ...limits,
    redisUrl: options === false ? null : (given.redisUrl ?? null),
    redis: options === false ? null : (given.redis ?? null),
    keyPrefix,
  })
}

/**
 * Reads the rate-limit variables: `RATE_LIMIT=off` turns every limit off (benchmarks), each
 * `RATE_LIMIT_*` sets one limit as `POINTS/DURATION` or `off`, `REDIS_URL` shares the counters.
 * Returns `false` or the options for `createAuth`; a bad value throws a `ConfigError` naming it.
 */
export function readRateLimitEnv(
  env: Readonly<Record<string, string | undefined>>,
): RateLimitOptions | false {
  const switchValue = env.RATE_LIMIT?.trim().toLowerCase()
  if (switchValue === 'off' || switchValue === 'false' || switchValue === '0') return false
  if (switchValue !== undefined && switchValue !== '' && !['on', 'true', '1'].includes(switchValue)) {
    throw new ConfigError('RATE_LIMIT', 'must be on or off')
  }
  const options: RateLimitOptions = {}
  for (const name of LIMIT_NAMES) {
    const variable = RATE_LIMIT_ENV[name]
    const value = env[variable]?.trim()
    if (value === undefined || value === '') continue
    options[name] = value === 'off' ? false : value
    resolveLimit(variable, options[name]!)
  }
  const redisUrl = env.REDIS_URL?.trim()
  if (redisUrl) {
    if (!/^rediss?:\/\//.test(redisUrl))
      throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://')
    options.redisUrl = redisUrl
  }
  return options
}

/**
 * The counting key of a client address. IPv4-mapped IPv6 counts as its IPv4 address, and an IPv6
 * address counts by its /64 prefix: one subscriber usually holds a whole /64, so counting single
 * addresses would give an attacker 2^64 buckets.
 */
export function deriveClientKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (isIPv4(ip)) return ip
  const bare = ip.split('%')[0]!
  if (!isIPv6(bare)) return 'unknown'
  const [head = '', tail = ''] = bare.split('::') as [string, string?]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = bare.includes('::')
    ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** Login names and addresses are counted by a hash: no email address sits in Redis in clear. */
function hashName(name: string): string {
  return createHash('sha256').update(name.trim().toLowerCase()).digest('base64url').slice(0, 22)
}

/** A login or refresh attempt that has taken its points; tell it how it ended. */
export interface LimitedAttempt {
  /** It succeeded (right password, honoured token): gives the points back; a login also resets its pair counter. */
  succeed(): Promise<void>
  /** The attempt ended for a reason that is not the caller's guess (a database error): gives every point back. */
  cancel(): Promise<void>
}

type LimitName = keyof RateLimitSettings

const NOOP_ATTEMPT: LimitedAttempt = Object.freeze({ succeed: async () => {}, cancel: async () => {} })

/**
 * The limiters of one `createAuth`. Every method throws {@link RateLimitError} (`429 rate_limited`
 * with `Retry-After`) when a limit is spent.
 *
 * @example
 * ```ts
 * // POST /auth/password/reset/request (issue 8): before looking the address up
 * await engine.limits.consumePasswordResetRequest(clientIP, input.email)
 * ```
 */
export class RateLimits {
  readonly #limiters: Partial<Record<LimitName, RateLimiterAbstract>>
  readonly #ownedClient: RedisClientLike | null

  private constructor(
    limiters: Partial<Record<LimitName, RateLimiterAbstract>>,
    ownedClient: RedisClientLike | null,
  ) {
    this.#limiters = limiters
    this.#ownedClient = ownedClient
  }

  /**
   * Builds the limiters: in memory, or in Redis with an in-memory insurance limiter of the same
   * limits. Connecting to `redisUrl` does not wait: until Redis is ready (and whenever it is
   * not), the in-memory counters count.
   */
  static async create(settings: ResolvedRateLimits, logger: AuthLogger): Promise<RateLimits> {
    let client = settings.redis
    let owned: RedisClientLike | null = null
    if (!client && settings.redisUrl) {
      client = await connectRedis(settings.redisUrl, logger)
      owned = client
    }
    const limiters: Partial<Record<LimitName, RateLimiterAbstract>> = {}
    for (const name of LIMIT_NAMES) {
      const limit = settings[name]
      if (!limit) continue
      const base = {
        points: limit.points,
        duration: limit.durationSeconds,
        keyPrefix: `${settings.keyPrefix}:rl:${name}`,
      }
      const memory = new RateLimiterMemory(base)
      limiters[name] = client
        ? new RateLimiterRedis({
            ...base,
            storeClient: client,
            // Fail fast to the memory limiter rather than queue behind a dead connection.
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory
    }
    return new RateLimits(limiters, owned)
  }

  /**
   * Takes one point from each login counter before the password is checked; throws
   * `RateLimitError` when any is spent, so that a limited client is refused even with the right
   * password. Call `succeed()` or `cancel()` on the result; a failed guess needs no call.
   */
  async beginLoginAttempt(login: string, ip: string | null | undefined): Promise<LimitedAttempt> {
    const name = hashName(login)
    const client = deriveClientKey(ip)
    const keys: [LimitName, string][] = [
      ['loginPair', `${name}|${client}`],
      ['loginName', name],
      ['loginIp', client],
    ]
    const active = keys.filter(([limit]) => this.#limiters[limit] !== undefined)
    if (active.length === 0) return NOOP_ATTEMPT
    await this.#consumeAll(active)
    return {
      succeed: async () => {
        await Promise.all(
          active.map(([limit, key]) =>
            limit === 'loginPair'
              ? this.#limiters[limit]!.delete(key)
              : this.#limiters[limit]!.reward(key, 1),
          ),
        )
      },
      cancel: async () => {
        await Promise.all(active.map(([limit, key]) => this.#limiters[limit]!.reward(key, 1)))
      },
    }
  }

  /** Counts one registration from `ip`; throws `RateLimitError` past the limit. */
  async consumeRegistration(ip: string | null | undefined): Promise<void> {
    await this.#consumeAll([['register', deriveClientKey(ip)]])
  }

  /**
   * Takes one refresh point from `ip` before the token is checked; throws `RateLimitError` when
   * spent. `succeed()` (the token was honoured) and `cancel()` (a server fault) give it back, so
   * only refused tokens accumulate and a client that refreshes normally is never limited.
   */
  async beginRefreshAttempt(ip: string | null | undefined): Promise<LimitedAttempt> {
    const limiter = this.#limiters.refresh
    if (!limiter) return NOOP_ATTEMPT
    const key = deriveClientKey(ip)
    await this.#consumeAll([['refresh', key]])
    const giveBack = async () => {
      await limiter.reward(key, 1)
    }
    return { succeed: giveBack, cancel: giveBack }
  }

  /**
   * Counts one password-reset request, per client IP and per email address; throws
   * `RateLimitError` past either limit. Call it before looking the address up, for every request
   * (known address or not), so that the answer and its timing say nothing about the address.
   */
  async consumePasswordResetRequest(ip: string | null | undefined, email: string): Promise<void> {
    await this.#consumeAll([
      ['resetRequestIp', deriveClientKey(ip)],
      ['resetRequestAddress', hashName(email)],
    ])
  }

  /**
   * Counts one verification mail to `email`; `false` once the address has had its share, and the
   * mail is then not sent. It never throws for the limit: the mail goes out after the answer.
   */
  async allowVerificationMail(email: string): Promise<boolean> {
    try {
      await this.#consumeAll([['verifyMailAddress', hashName(email)]])
      return true
    } catch (error) {
      if (error instanceof RateLimitError) return false
      throw error
    }
  }

  /** Closes the Redis connection that tokenpair opened (not one it was given). */
  async close(): Promise<void> {
    if (!this.#ownedClient) return
    closing.add(this.#ownedClient)
    try {
      await this.#ownedClient.quit()
    } catch {
      this.#ownedClient.disconnect()
    }
  }

  async #consumeAll(keys: [LimitName, string][]): Promise<void> {
    const results = await Promise.allSettled(
      keys
        .filter(([limit]) => this.#limiters[limit] !== undefined)
        .map(([limit, key]) => this.#limiters[limit]!.consume(key, 1)),
    )
    let retryMs = 0
    for (const result of results) {
      if (result.status === 'fulfilled') continue
      // rate-limiter-flexible rejects with a RateLimiterRes when the limit is spent, and with an
      // Error only when both the store and its insurance failed: a bug, not a limit.
      if (result.reason instanceof RateLimiterRes) retryMs = Math.max(retryMs, result.reason.msBeforeNext)
      else throw result.reason
    }
    if (retryMs > 0 || results.some((r) => r.status === 'rejected')) throw new RateLimitError(retryMs / 1000)
  }
}

/** Clients being closed on purpose: their `close` is not an outage. */
const closing = new WeakSet<RedisClientLike>()

async function connectRedis(url: string, logger: AuthLogger): Promise<RedisClientLike> {
  let mod: { Redis: new (url: string, options: Record<string, unknown>) => RedisClientLike }
  try {
    mod = (await import('ioredis')) as unknown as typeof mod
  } catch {
    throw new ConfigError('REDIS_URL', 'needs the ioredis package: npm install ioredis')
  }
  const client = new mod.Redis(url, {
    // Commands fail at once while disconnected, and the in-memory insurance limiter counts.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  })
  let down = false
  const reportDown = (code: string) => {
    if (down || closing.has(client)) return
    down = true
    logger.warn(
      { event: 'rate_limit_store_down', code },
      'Redis for rate limits is unreachable: counting in memory on this instance until it returns',
    )
  }
  // The URL may hold a password: log the error's code only, never the error or the URL.
  client.on('error', (...args: unknown[]) => {
    const error = args[0] as { code?: string; name?: string } | undefined
    reportDown(error?.code ?? error?.name ?? 'error')
  })
  client.on('close', () => reportDown('connection_closed'))
  client.on('ready', () => {
    if (!down) return
    down = false
    logger.info({ event: 'rate_limit_store_up' }, 'Redis for rate limits is back')
  })
  return client
}
