/** Most proofs a {@link MemoryDPoPReplayStore} remembers; past it the oldest is forgotten first. */
export const MAX_REMEMBERED_PROOFS = 100_000

/**
 * Where the `jti` of each accepted DPoP proof is remembered for the proof's lifetime, so that a
 * proof is accepted once (RFC 9449 §11.1).
 */
export interface DPoPReplayStore {
  /**
   * Records `key` for `ttlMs`; resolves `true` the first time, `false` when it is already
   * recorded (a replay). Under concurrent calls with one key exactly one gets `true`.
   */
  claim(key: string, ttlMs: number): Promise<boolean>
}

/**
 * The replay store of one process: a Map in insertion order, bounded. Enough for one instance;
 * several instances share one through Redis ({@link RedisDPoPReplayStore}).
 */
export class MemoryDPoPReplayStore implements DPoPReplayStore {
  readonly #until = new Map<string, number>()
  readonly #maxEntries: number

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? MAX_REMEMBERED_PROOFS
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return this.claimNow(key, ttlMs, Date.now())
  }

  /** {@link claim}, synchronously, at `now`. */
  claimNow(key: string, ttlMs: number, now: number): boolean {
    const until = this.#until.get(key)
    if (until !== undefined && until > now) return false
    this.#until.delete(key)
    // Expired entries sit at the front (they were added first); drop those, then the oldest if full.
    for (const [oldest, end] of this.#until) {
      if (end > now && this.#until.size < this.#maxEntries) break
      this.#until.delete(oldest)
    }
    this.#until.set(key, now + ttlMs)
    return true
  }
}

/** The one member of an `ioredis` client that the Redis replay store uses. */
export interface RedisSetClient {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>
}

/**
 * The replay store shared by every instance: `SET key 1 PX ttl NX`, atomic in Redis. While Redis
 * cannot be reached, each instance remembers proofs in memory (as the rate limits do), so a proof
 * is still accepted at most once per instance.
 */
export class RedisDPoPReplayStore implements DPoPReplayStore {
  readonly #client: RedisSetClient
  readonly #prefix: string
  readonly #fallback = new MemoryDPoPReplayStore()

  constructor(client: RedisSetClient, options: { keyPrefix: string }) {
    this.#client = client
    this.#prefix = `${options.keyPrefix}:dpop:`
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    // Remembered here too, so that a Redis outage does not open a window for proofs seen before it.
    const fresh = this.#fallback.claimNow(key, ttlMs, Date.now())
    try {
      const answer = await this.#client.set(`${this.#prefix}${key}`, '1', 'PX', Math.max(1, ttlMs), 'NX')
      return fresh && answer === 'OK'
    } catch {
      return fresh
    }
  }
}
