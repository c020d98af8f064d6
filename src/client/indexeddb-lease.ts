/**
 * The refresh lease of browsers without Web Locks, kept in IndexedDB. A `readwrite` transaction
 * on an object store starts only after every overlapping `readwrite` transaction of the origin
 * created before it has finished, in every tab and renderer process, so "read the lease; if it is
 * free, write ours" inside one transaction is a compare-and-set: two tabs never both take it.
 * (localStorage cannot promise that: its writes reach the other tabs whenever they are delivered.)
 *
 * The store holds two records per auth server: the lease, `{ tab, until }` (a tab id and an
 * expiry, nothing else), and a copy of the newest shared outcome (expiry times or the reason a
 * session ended; nothing secret). A tab takes the lease only in a transaction that also finds no
 * outcome newer than the one it knows, and the holder records its outcome before it releases, so a
 * waiting tab that finds the lease free also finds the outcome: no second refresh, and no wait for
 * the outcome to arrive by another route.
 */

const DB_NAME = 'tokenpair-cross-tab'
const STORE = 'leases'
/**
 * The longest the connection may take to open. Some Safari 14 releases (no Web Locks, so this
 * path) leave the first `indexedDB.open()` pending forever (WebKit bug 226547): past this, the tab
 * treats IndexedDB as broken and falls back, rather than wait out `lockTimeoutMs` on every refresh.
 */
const OPEN_TIMEOUT_MS = 2_000

/** Who holds the lease, and until when (ms since the epoch): all the lease record says. */
interface Lease {
  tab: string
  until: number
}

/** Options of {@link IndexedDBLease.acquire}. */
export interface AcquireOptions<O> {
  /** Key of the lease record. */
  leaseKey: string
  /** Key of the outcome record. */
  outcomeKey: string
  /** The tab that asks. A lease it already holds counts as free. */
  tab: string
  /** How long the lease holds once taken, ms: a tab that freezes with it stalls no one past that. */
  holdMs: number
  /** The longest to wait for the transaction (behind other tabs'), ms; past it, the lease is not taken. */
  waitMs: number
  /** Returns the stored outcome if it is newer than the asking tab knows (the lease is then left), else `null`. */
  readNewer: (stored: unknown) => O | null
}

/** What {@link IndexedDBLease.acquire} found: the lease taken, or not, and a newer outcome if any. */
export interface LeaseAttempt<O> {
  taken: boolean
  newer: O | null
}

function isLease(value: unknown): value is Lease {
  const lease = value as Partial<Lease> | null | undefined
  return typeof lease?.tab === 'string' && typeof lease.until === 'number'
}

/** The origin's IndexedDB, or `null` where there is none or it is blocked. */
export function getIndexedDB(): IDBFactory | null {
  try {
    return typeof indexedDB === 'undefined' ? null : indexedDB
  } catch {
    // Reading `indexedDB` can throw where storage is blocked.
    return null
  }
}

/** The lease and outcome records of one tab's client, over one lazily opened connection. */
export class IndexedDBLease {
  readonly #factory: IDBFactory
  #db: Promise<IDBDatabase> | null = null

  constructor(factory: IDBFactory) {
    this.#factory = factory
    // Opened now, so that it is ready (or known broken) when the first refresh needs it.
    this.#open().catch(() => {
      // Reported to the first transaction, which falls back.
    })
  }

  /** Takes the lease unless another tab holds a live one, or a newer outcome is stored. */
  acquire<O>(options: AcquireOptions<O>): Promise<LeaseAttempt<O>> {
    const { leaseKey, tab } = options
    const late: LeaseAttempt<O> = { taken: false, newer: null }
    return this.#transact(
      (store) => {
        const attempt: LeaseAttempt<O> = { taken: false, newer: null }
        const lease = store.get(leaseKey)
        const outcome = store.get(options.outcomeKey)
        // The requests of a transaction succeed in order: the lease has been read too.
        outcome.onsuccess = () => {
          attempt.newer = options.readNewer(outcome.result)
          const held = lease.result as unknown
          if (attempt.newer || (isLease(held) && held.tab !== tab && held.until > Date.now())) return
          store.put({ tab, until: Date.now() + options.holdMs } satisfies Lease, leaseKey)
          attempt.taken = true
        }
        return attempt
      },
      options.waitMs,
      late,
    )
  }

  /** Gives the lease up, if `tab` still holds it. */
  release(leaseKey: string, tab: string): Promise<void> {
    return this.#transact((store) => {
      const lease = store.get(leaseKey)
      lease.onsuccess = () => {
        const held = lease.result as unknown
        if (isLease(held) && held.tab === tab) store.delete(leaseKey)
      }
    })
  }

  /** Stores `outcome` unless a newer one (by `at`) is stored already. */
  record(outcomeKey: string, outcome: { at: number }): Promise<void> {
    return this.#transact((store) => {
      const stored = store.get(outcomeKey)
      stored.onsuccess = () => {
        const at = (stored.result as { at?: unknown } | undefined)?.at
        if (typeof at !== 'number' || at < outcome.at) store.put(outcome, outcomeKey)
      }
    })
  }

  /** Closes the connection (after its pending transactions). */
  close(): void {
    void this.#db?.then((db) => db.close()).catch(() => {})
    this.#db = null
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = this.#factory.open(DB_NAME, 1)
      const timer = setTimeout(() => reject(new Error('IndexedDB did not open')), OPEN_TIMEOUT_MS)
      request.onupgradeneeded = () => request.result.createObjectStore(STORE)
      request.onsuccess = () => {
        clearTimeout(timer)
        const db = request.result
        // Let a later version of the database open rather than wait on this tab.
        db.onversionchange = () => {
          db.close()
          this.#db = null
        }
        resolve(db)
      }
      request.onerror = () => {
        clearTimeout(timer)
        reject(request.error)
      }
    })
    return this.#db
  }

  /**
   * Runs `step` in one `readwrite` transaction and resolves with what it returned once the
   * transaction has committed. With `waitMs`, a transaction still not done by then (queued behind
   * a stuck tab's) is aborted, so that nothing it meant to write lands later, and `late` is the answer.
   */
  #transact<T>(step: (store: IDBObjectStore) => T, waitMs?: number, late?: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let tx: IDBTransaction | null = null
      let timedOut = false
      const timer =
        waitMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true
              if (!tx) resolve(late as T)
              try {
                tx?.abort()
              } catch {
                // Already committing: its own answer stands.
              }
            }, waitMs)
      const settle = (): void => clearTimeout(timer)
      this.#open()
        .then((db) => {
          if (timedOut) return
          const current = db.transaction(STORE, 'readwrite')
          tx = current
          const result = step(current.objectStore(STORE))
          current.oncomplete = () => {
            settle()
            resolve(result)
          }
          current.onabort = () => {
            settle()
            if (timedOut) resolve(late as T)
            else reject(current.error ?? new Error('IndexedDB transaction aborted'))
          }
        })
        .catch((error: unknown) => {
          settle()
          reject(error)
        })
    })
  }
}
