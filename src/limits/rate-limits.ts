import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible'
import type { AuthLogger } from '../common/logger.js'
import { RateLimitError } from '../errors.js'
import { deriveClientKey, hashName } from './client-key.js'
import { LIMIT_NAMES, type RateLimitSettings, type ResolvedRateLimits } from './rate-limit-settings.js'
import { closing, connectRedis, type RedisClientLike } from './redis.js'

/**
 * Brute-force defences (docs/api.md, "Brute-force limits"), on `rate-limiter-flexible`.
 *
 * - Logins: every attempt takes one point from three counters *before* the password is checked
 *   (login name + IP, login name, IP), atomically, so a burst of parallel guesses cannot slip past
 *   the limit and, while a counter is spent, even the right password is refused. A successful login
 *   gives the point back to the name and IP counters and resets the pair counter (the package's
 *   "login endpoint protection" pattern), so only failures accumulate.
 * - Refresh works the same way with one per-IP counter: an honoured token gives its point back.
 * - Registration and password-reset requests take one point per request; so do passkey login
 *   challenges, of which a successful passkey login gives its point back.
 *
 * Counters live in process memory, or in Redis when a URL or client is given, so that every
 * instance shares them. When Redis fails, each instance falls back to its own in-memory counters
 * (fail open to a weaker limit, never to no limit and never to a 500), and says so once in the log.
 */

/** A login or refresh attempt that has taken its points; tell it how it ended. */
export interface LimitedAttempt {
  /** It succeeded (right password, honoured token): gives the points back; a login also resets its pair counter. */
  succeed(): Promise<void>
  /** The attempt ended for a reason that is not the caller's guess (a database error): gives every point back. */
  cancel(): Promise<void>
}

type LimitName = keyof RateLimitSettings

/**
 * Gives one point back to `key`. When the window that took the point has ended, the limiter keeps
 * no record and a plain `reward` would open a new window at -1 points: a credit of one extra
 * attempt, which a client could bank (one slow login a day) to raise its budget. A record that the
 * reward itself created is deleted instead.
 */
async function giveBack(limiter: RateLimiterAbstract, key: string): Promise<void> {
  const result = await limiter.reward(key, 1)
  if (result.consumedPoints < 0) await limiter.delete(key)
}

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
  /** The Redis client the counters use (given or opened), or `null` for memory. */
  readonly redisClient: RedisClientLike | null

  private constructor(
    limiters: Partial<Record<LimitName, RateLimiterAbstract>>,
    ownedClient: RedisClientLike | null,
    redisClient: RedisClientLike | null,
  ) {
    this.#limiters = limiters
    this.#ownedClient = ownedClient
    this.redisClient = redisClient
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
    return new RateLimits(limiters, owned, client ?? null)
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
              : giveBack(this.#limiters[limit]!, key),
          ),
        )
      },
      cancel: async () => {
        await Promise.all(active.map(([limit, key]) => giveBack(this.#limiters[limit]!, key)))
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
    const giveBackPoint = () => giveBack(limiter, key)
    return { succeed: giveBackPoint, cancel: giveBackPoint }
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
   * Counts one sensitive account change (a profile update, a factor change) by `userId` from
   * `ip`; throws `RateLimitError` past either limit. Every request counts, right or wrong.
   */
  async consumeSensitiveChange(userId: string, ip: string | null | undefined): Promise<void> {
    await this.#consumeAll([
      ['sensitiveUser', hashName(userId)],
      ['sensitiveIp', deriveClientKey(ip)],
    ])
  }

  /** Counts one identity-provider callback from `ip`; throws `RateLimitError` past the limit. */
  async consumeOIDCCallback(ip: string | null | undefined): Promise<void> {
    await this.#consumeAll([['oidcCallback', deriveClientKey(ip)]])
  }

  /**
   * Counts one passkey login challenge handed to `ip`; throws `RateLimitError` past the limit.
   * A login that uses a challenge gives the point back ({@link RateLimits.refundPasskeyChallenge}).
   */
  async consumePasskeyChallenge(ip: string | null | undefined): Promise<void> {
    await this.#consumeAll([['passkeyChallenge', deriveClientKey(ip)]])
  }

  /** Gives back the point of a challenge that a passkey login from `ip` used. */
  async refundPasskeyChallenge(ip: string | null | undefined): Promise<void> {
    const limiter = this.#limiters.passkeyChallenge
    if (limiter) await giveBack(limiter, deriveClientKey(ip))
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
