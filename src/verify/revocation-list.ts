import { AuthError } from '../errors.js'
import { revokedSessionsSchema } from '../protocol/wire-schemas.js'

/** How many poll intervals may pass without a good reading before tokens are no longer trusted. */
export const STALE_AFTER_INTERVALS = 3

/** Settings of a {@link RevocationList}. */
export interface RevocationListOptions {
  /** The auth server's `/.well-known/revoked-sessions`. */
  url: URL
  /** Time between two readings, in milliseconds. */
  intervalMs: number
  /** Time allowed for one reading, in milliseconds. */
  timeoutMs: number
}

/**
 * The sessions the auth server revoked, kept fresh by polling its revocation feed, for a service
 * that holds no database. A session seen once stays known until it leaves the feed's window
 * (`since`): its access tokens have expired by then.
 *
 * Fails closed: until the first reading, and once no reading succeeded for
 * {@link STALE_AFTER_INTERVALS} intervals, a check answers `unavailable` (503) rather than let a
 * revoked session through unnoticed.
 */
export class RevocationList {
  readonly #options: RevocationListOptions
  /** sid → revokedAt (epoch milliseconds). */
  readonly #revoked = new Map<string, number>()
  #readAt = -Infinity
  #timer: NodeJS.Timeout | undefined
  #closed = false
  /** The reading in progress, which a check that finds the list stale waits for. */
  #reading: Promise<void> | null = null

  constructor(options: RevocationListOptions) {
    this.#options = options
    this.#schedule(0)
  }

  /** Throws `session_revoked` when `sid` is revoked, `unavailable` when the list is stale. */
  async assertNotRevoked(sid: string): Promise<void> {
    if (!this.#isFresh(Date.now())) await (this.#reading ?? this.refresh())
    if (!this.#isFresh(Date.now())) {
      throw new AuthError('unavailable', 'Cannot read the revoked sessions of the auth server')
    }
    if (this.#revoked.has(sid)) throw new AuthError('session_revoked', 'Session has been revoked')
  }

  /** Reads the feed now (polling does it every interval); never throws. */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null
    })
    return this.#reading
  }

  /** Stops polling. */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  #isFresh(now: number): boolean {
    const { intervalMs, timeoutMs } = this.#options
    return now - this.#readAt <= STALE_AFTER_INTERVALS * intervalMs + timeoutMs
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => {
      void this.refresh().then(() => this.#schedule(this.#options.intervalMs))
    }, delayMs)
    // Polling alone never keeps a process alive.
    this.#timer.unref()
  }

  async #read(): Promise<void> {
    const startedAt = Date.now()
    try {
      const response = await fetch(this.#options.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      })
      if (!response.ok) return
      const parsed = revokedSessionsSchema.safeParse(await response.json())
      if (!parsed.success) return
      for (const { sid, revokedAt } of parsed.data.sessions) this.#revoked.set(sid, Date.parse(revokedAt))
      const since = Date.parse(parsed.data.since)
      for (const [sid, revokedAt] of this.#revoked) if (revokedAt < since) this.#revoked.delete(sid)
      // Fresh as of when the request went out: a revocation after that may not be in it.
      this.#readAt = startedAt
    } catch {
      // Unreachable, timed out or not JSON: the list stays as it was, and ages.
    }
  }
}
