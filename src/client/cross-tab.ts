/**
 * One refresh across the tabs of one origin. In cookie mode every tab shares the same cookies, so
 * two tabs refreshing at once would each rotate the refresh token: wasteful at best, and a logout
 * when the second one lands outside the server's reuse grace. The tab that needs a refresh takes
 * a Web Lock, checks whether another tab refreshed meanwhile, and only then refreshes; the outcome
 * goes to the other tabs over BroadcastChannel and into localStorage (read synchronously by a tab
 * that is granted the lock next).
 *
 * Without Web Locks, a lease in IndexedDB stands in for the lock: taking it is a compare-and-set
 * inside one transaction, so it is as exclusive as the lock (see indexeddb-lease.ts). Without
 * IndexedDB either, a lease in localStorage is the last resort, and only best-effort: localStorage
 * has no compare-and-set across tabs (writes reach the other tabs asynchronously), so two tabs
 * that start together can both take it. Without localStorage too, each tab keeps its own single
 * flight. Wherever a duplicate slips through, the server's reuse grace absorbs it.
 *
 * Nothing secret crosses tabs: only expiry times and the reason a session ended.
 */

import { getIndexedDB, IndexedDBLease, type LeaseAttempt } from './indexeddb-lease.js'

/** What one tab tells the others after a refresh, a login or the end of a session. */
export interface SharedOutcome {
  kind: 'tokens' | 'ended'
  /** Wall-clock ms when it happened (every tab of the origin shares the machine's clock). */
  at: number
  /** Id of the tab that wrote it. */
  tab: string
  /** `tokens`: when the new access token expires (ISO 8601, server clock). */
  accessTokenExpiresAt?: string
  /** `tokens`: the new access token's lifetime, ms. */
  lifetimeMs?: number
  /** `ended`: why. */
  reason?: string
  /** `tokens`: whether the session is bound to the origin's DPoP key. */
  bound?: boolean
}

/** The result of {@link CrossTabRefresh.coordinate}. */
export interface CoordinatedRefresh {
  outcome: SharedOutcome
  /** `true` when another tab refreshed and this one took its outcome without a request. */
  adopted: boolean
}

/** Options of {@link CrossTabRefresh}. */
export interface CrossTabOptions {
  /** Identifies the auth server, so that two servers on one origin do not share a lock. */
  key: string
  /** The longest a tab waits for another tab's refresh before refreshing itself. */
  lockTimeoutMs: number
  /** Called with each outcome another tab shares. */
  onOutcome: (outcome: SharedOutcome) => void
}

const NOT_AVAILABLE = Symbol('lock not available')
/** How long a tab granted the lock after waiting gives the holder's outcome to arrive. */
const OUTCOME_GRACE_MS = 300
const POLL_MS = 25

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function parseOutcome(value: unknown): SharedOutcome | null {
  if (typeof value === 'string') {
    try {
      return parseOutcome(JSON.parse(value))
    } catch {
      return null
    }
  }
  if (typeof value !== 'object' || value === null) return null
  const o = value as Partial<SharedOutcome>
  if ((o.kind !== 'tokens' && o.kind !== 'ended') || typeof o.at !== 'number' || typeof o.tab !== 'string')
    return null
  if (o.kind === 'tokens' && typeof o.accessTokenExpiresAt !== 'string') return null
  return o as SharedOutcome
}

type Refresh = () => Promise<SharedOutcome>

function getLocalStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    // Reading `localStorage` throws where storage is blocked (sandboxed frames, some privacy modes).
    return null
  }
}

function getLockManager(): LockManager | null {
  if (typeof navigator === 'undefined') return null
  const locks = (navigator as { locks?: LockManager }).locks
  return locks && typeof locks.request === 'function' ? locks : null
}

/** Coordinates refreshes with the other tabs of the origin. */
export class CrossTabRefresh {
  /** This tab's id. */
  readonly tab: string = Math.random().toString(36).slice(2) + Date.now().toString(36)
  readonly #options: CrossTabOptions
  readonly #recordKey: string
  readonly #leaseKey: string
  readonly #storage = getLocalStorage()
  readonly #locks = getLockManager()
  /** Only without Web Locks; `null` again once IndexedDB has failed here. */
  #leases: IndexedDBLease | null = null
  #channel: BroadcastChannel | null = null
  #latest: SharedOutcome | null = null
  readonly #onStorage = (event: StorageEvent): void => {
    if (event.key === this.#recordKey) this.#receive(parseOutcome(event.newValue))
  }

  constructor(options: CrossTabOptions) {
    this.#options = options
    this.#recordKey = `tokenpair:${options.key}`
    this.#leaseKey = `tokenpair-lease:${options.key}`
    const factory = this.#locks ? null : getIndexedDB()
    if (factory) this.#leases = new IndexedDBLease(factory)
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(this.#recordKey)
      this.#channel.onmessage = (event: MessageEvent) => this.#receive(parseOutcome(event.data))
    } else if (typeof window !== 'undefined' && this.#storage) {
      window.addEventListener('storage', this.#onStorage)
    }
  }

  /** The last outcome any tab recorded, or `null`. */
  readLatest(): SharedOutcome | null {
    let stored: SharedOutcome | null = null
    try {
      stored = parseOutcome(this.#storage?.getItem(this.#recordKey) ?? null)
    } catch {
      stored = null
    }
    if (stored && (!this.#latest || stored.at > this.#latest.at)) return stored
    return this.#latest
  }

  /** Tells the other tabs (and records for tabs that open later). */
  publish(outcome: SharedOutcome): void {
    this.#latest = outcome
    try {
      this.#storage?.setItem(this.#recordKey, JSON.stringify(outcome))
    } catch {
      // A full or blocked storage only costs the other tabs a refresh of their own.
    }
    this.#channel?.postMessage(outcome)
    // Recorded next to the lease too, before this tab can release it (transactions of one store
    // run in the order they were created): a tab that then takes the lease sees this outcome.
    this.#leases?.record(this.#recordKey, outcome).catch(() => {
      // The outcome still went out above; a tab that misses it refreshes on its own.
    })
  }

  /**
   * Runs `refresh` unless another tab has produced an outcome newer than `knownAt` (the time of
   * the newest outcome this tab knows); either way returns the outcome to use.
   */
  async coordinate(knownAt: number, refresh: Refresh): Promise<CoordinatedRefresh> {
    const locks = this.#locks
    if (locks) {
      const name = this.#recordKey
      const first = await locks.request(name, { ifAvailable: true }, (lock) =>
        lock === null ? NOT_AVAILABLE : this.#runInLock(knownAt, refresh, 'immediate'),
      )
      if (first !== NOT_AVAILABLE) return first
      let entered = false
      try {
        // The time bound: a tab that froze while holding the lock must not stall every other tab.
        return await locks.request(name, { signal: AbortSignal.timeout(this.#options.lockTimeoutMs) }, () => {
          entered = true
          return this.#runInLock(knownAt, refresh, 'waited')
        })
      } catch (error) {
        if (entered) throw error
        return this.#runInLock(knownAt, refresh, 'waited')
      }
    }
    // The time bound, as with the lock: a tab that froze holding the lease stalls no one past it.
    const deadline = Date.now() + this.#options.lockTimeoutMs
    const coordinated = this.#leases && (await this.#coordinateWithIndexedDB(knownAt, refresh, deadline))
    if (coordinated) return coordinated
    if (this.#storage) return this.#coordinateWithLocalStorage(knownAt, refresh, deadline)
    return { outcome: await refresh(), adopted: false }
  }

  /** Stops listening to the other tabs. */
  close(): void {
    this.#channel?.close()
    this.#channel = null
    if (typeof window !== 'undefined') window.removeEventListener('storage', this.#onStorage)
    this.#leases?.close()
    this.#leases = null
  }

  #receive(outcome: SharedOutcome | null): void {
    if (!outcome || outcome.tab === this.tab) return
    if (this.#latest && this.#latest.at >= outcome.at) return
    this.#latest = outcome
    this.#options.onOutcome(outcome)
  }

  #findNewer(knownAt: number): SharedOutcome | null {
    const latest = this.readLatest()
    return latest && latest.at > knownAt && latest.tab !== this.tab ? latest : null
  }

  async #waitForNewer(knownAt: number, ms: number): Promise<SharedOutcome | null> {
    const deadline = Date.now() + ms
    for (let found = this.#findNewer(knownAt); Date.now() < deadline; found = this.#findNewer(knownAt)) {
      if (found) return found
      await sleep(POLL_MS)
    }
    return this.#findNewer(knownAt)
  }

  async #runInLock(
    knownAt: number,
    refresh: Refresh,
    entry: 'immediate' | 'waited',
  ): Promise<CoordinatedRefresh> {
    // Having waited, the holder was almost surely refreshing: give its outcome a moment to land
    // rather than rotate the token a second time.
    const newer =
      entry === 'waited' ? await this.#waitForNewer(knownAt, OUTCOME_GRACE_MS) : this.#findNewer(knownAt)
    if (newer) return { outcome: newer, adopted: true }
    const outcome = await refresh()
    this.publish(outcome)
    return { outcome, adopted: false }
  }

  /** The lease in IndexedDB; `null` if IndexedDB fails here (then it is not used again). */
  async #coordinateWithIndexedDB(
    knownAt: number,
    refresh: Refresh,
    deadline: number,
  ): Promise<CoordinatedRefresh | null> {
    const leases = this.#leases!
    while (Date.now() < deadline) {
      const newer = this.#findNewer(knownAt)
      if (newer) return { outcome: newer, adopted: true }
      let attempt: LeaseAttempt<SharedOutcome>
      try {
        attempt = await leases.acquire({
          leaseKey: this.#leaseKey,
          outcomeKey: this.#recordKey,
          tab: this.tab,
          holdMs: this.#options.lockTimeoutMs,
          waitMs: deadline - Date.now(),
          readNewer: (stored) => {
            const outcome = parseOutcome(stored)
            return outcome && outcome.at > knownAt && outcome.tab !== this.tab ? outcome : null
          },
        })
      } catch {
        // Blocked or broken (a private mode, a full disk): the localStorage lease from now on.
        leases.close()
        this.#leases = null
        return null
      }
      if (attempt.newer) return { outcome: attempt.newer, adopted: true }
      if (attempt.taken) {
        try {
          return await this.#runInLock(knownAt, refresh, 'immediate')
        } finally {
          // Not awaited: the outcome is recorded and published already, and an unreleased lease
          // expires on its own.
          leases.release(this.#leaseKey, this.tab).catch(() => {})
        }
      }
      await sleep(POLL_MS * 2)
    }
    return this.#runInLock(knownAt, refresh, 'immediate')
  }

  /** The last resort, best-effort (see the top of this file). */
  async #coordinateWithLocalStorage(
    knownAt: number,
    refresh: Refresh,
    deadline: number,
  ): Promise<CoordinatedRefresh> {
    const storage = this.#storage!
    const readLease = (): { tab: string; until: number } | null => {
      try {
        const lease = JSON.parse(storage.getItem(this.#leaseKey) ?? 'null') as unknown
        return lease && typeof lease === 'object' ? (lease as { tab: string; until: number }) : null
      } catch {
        return null
      }
    }
    while (Date.now() < deadline) {
      const newer = this.#findNewer(knownAt)
      if (newer) return { outcome: newer, adopted: true }
      const lease = readLease()
      if (lease === null || lease.until < Date.now()) {
        try {
          storage.setItem(this.#leaseKey, JSON.stringify({ tab: this.tab, until: deadline }))
        } catch {
          break
        }
        // No compare-and-set: write, let a concurrent writer land, read back. This narrows the
        // race between two tabs that start together; it cannot close it.
        await sleep(POLL_MS * 2)
        if (readLease()?.tab === this.tab) {
          try {
            return await this.#runInLock(knownAt, refresh, 'immediate')
          } finally {
            if (readLease()?.tab === this.tab) storage.removeItem(this.#leaseKey)
          }
        }
      }
      await sleep(POLL_MS * 2)
    }
    return this.#runInLock(knownAt, refresh, 'immediate')
  }
}
