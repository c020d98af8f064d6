import type { Storage } from './storage.js'

/** Largest number of sessions remembered; the oldest entry leaves first. */
export const MAX_CACHED_SESSIONS = 10_000

interface Entry {
  active: boolean
  userId: string | null
  until: number
}

/**
 * A short-lived, bounded cache of "is this session still active?" for
 * `requireAuth({ checkSession: true })`, so that a busy client costs one storage read per session
 * per `ttlMs` rather than one per request.
 *
 * Revocation through this instance (the {@link observeRevocations} storage) forgets the entry at
 * once; a revocation made by another instance is seen within `ttlMs`. A revoked session never
 * becomes active again, so only "active" answers can be stale.
 */
export class SessionStatusCache {
  readonly #ttlMs: number
  readonly #maxEntries: number
  // A Map keeps insertion order: the first key is the oldest, which makes eviction O(1).
  readonly #entries = new Map<string, Entry>()
  /*
   * Bumped by every local revocation. A status read from storage is remembered only if no
   * revocation happened while it was being read: otherwise a read that began before a logout and
   * ended after it would put "active" back into the cache for a whole TTL.
   */
  #generation = 0
  /** Called after each local revocation (the revocation feed's Redis nudge). */
  readonly #onRevocation = new Set<() => void>()

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.#ttlMs = options.ttlMs
    this.#maxEntries = options.maxEntries ?? MAX_CACHED_SESSIONS
  }

  /** The cached status of `sessionId` for `userId`, or `undefined` when it must be read. */
  lookUp(sessionId: string, userId: string, now: number): boolean | undefined {
    const entry = this.#entries.get(sessionId)
    if (!entry) return undefined
    if (entry.until <= now) {
      this.#entries.delete(sessionId)
      return undefined
    }
    return entry.active && entry.userId === userId
  }

  /** The revocation count, to pass to {@link remember} for a read that starts now. */
  get generation(): number {
    return this.#generation
  }

  /**
   * Remembers a status read from storage, for `ttlMs` but never past `expiresAt`; nothing when a
   * local revocation happened since `readSince` (the {@link generation} taken before the read).
   */
  remember(
    sessionId: string,
    userId: string | null,
    active: boolean,
    timing: { now: number; readSince: number; expiresAt?: number },
  ): void {
    if (this.#ttlMs <= 0 || timing.readSince !== this.#generation) return
    const { now, expiresAt = Infinity } = timing
    this.#entries.delete(sessionId)
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(sessionId, { active, userId, until: Math.min(now + this.#ttlMs, expiresAt) })
  }

  /** Forgets one session (it was just revoked here). */
  forgetSession(sessionId: string): void {
    this.#generation++
    this.#entries.delete(sessionId)
    this.#announce()
  }

  /** Forgets every session of a user (all were just revoked here). */
  forgetUser(userId: string): void {
    this.#generation++
    for (const [id, entry] of this.#entries) if (entry.userId === userId) this.#entries.delete(id)
    this.#announce()
  }

  /** Calls `listener` after every revocation made through this instance; returns its remover. */
  onRevocation(listener: () => void): () => void {
    this.#onRevocation.add(listener)
    return () => this.#onRevocation.delete(listener)
  }

  #announce(): void {
    for (const listener of this.#onRevocation) listener()
  }

  /** Number of entries held (for tests and metrics). */
  get size(): number {
    return this.#entries.size
  }
}

/**
 * Wraps `storage` so that every revocation it performs also clears `cache`. Other members are
 * passed through bound to the real storage (adapters keep `#private` state, which a plain
 * prototype wrapper would break).
 */
export function observeRevocations(storage: Storage, cache: SessionStatusCache): Storage {
  const bound = new Map<PropertyKey, unknown>()
  const overrides: Partial<Storage> = {
    revokeSession: async (sessionId, userId, reason, now) => {
      const revoked = await storage.revokeSession(sessionId, userId, reason, now)
      cache.forgetSession(sessionId)
      return revoked
    },
    revokeUserSessions: async (userId, reason, now, options) => {
      const count = await storage.revokeUserSessions(userId, reason, now, options)
      cache.forgetUser(userId)
      return count
    },
    consumeRefreshToken: async (input) => {
      const result = await storage.consumeRefreshToken(input)
      // Reuse detection revokes the session inside storage.
      if (result.status === 'reused') cache.forgetSession(input.sessionId)
      return result
    },
    setUserDisabled: async (userId, disabledAt, now) => {
      const changed = await storage.setUserDisabled(userId, disabledAt, now)
      cache.forgetUser(userId)
      return changed
    },
  }
  return new Proxy(storage, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof Storage]
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let fn = bound.get(property)
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(target)
        bound.set(property, fn)
      }
      return fn
    },
  })
}
