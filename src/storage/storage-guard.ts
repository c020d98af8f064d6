import { AuthError } from '../errors.js'

/**
 * What a driver error means to the domain, as every adapter's classification says it:
 * - `unique_username`, `unique_email`: a unique index of the users refused a duplicate;
 * - `unique_other`: another unique index did (a bug or a forged id, not the client's mistake);
 * - `unavailable`: the database cannot be reached or cannot serve now;
 * - `retry`: the database rolled the transaction back to break a deadlock (or a serialization
 *   conflict), and running it again is the documented remedy;
 * - `null`: none of these; the error goes up as it is.
 */
export type StorageErrorKind =
  | 'unique_username'
  | 'unique_email'
  | 'unique_other'
  | 'unavailable'
  | 'retry'
  | null

/**
 * The frame around every storage operation: a closed storage answers `unavailable`, and driver
 * errors become the domain's (duplicates and an unreachable database), whatever the adapter.
 *
 * @example
 * ```ts
 * const guard = new StorageGuard(classifyMyDriverError)
 * const user = await guard.run(() => db.findUser(id))
 * ```
 */
export class StorageGuard {
  readonly #classify: (error: unknown) => StorageErrorKind
  #closed = false

  constructor(classify: (error: unknown) => StorageErrorKind) {
    this.#classify = classify
  }

  /** Marks the storage closed: every later {@link StorageGuard.run} throws `unavailable`. */
  close(): void {
    this.#closed = true
  }

  /** Runs `work`, turning driver errors into the domain's: duplicates and an unreachable database. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    // A closed storage says so in the domain's words, whatever its driver would have done.
    if (this.#closed) throw new AuthError('unavailable', 'Storage is closed')
    try {
      return await work()
    } catch (error) {
      if (error instanceof AuthError) throw error
      const kind = this.#classify(error)
      if (kind === 'unique_username') throw new AuthError('username_taken', 'Username is already taken')
      if (kind === 'unique_email') throw new AuthError('email_taken', 'Email is already registered')
      // A deadlock that persists through every attempt is an overload, not a bug.
      if (kind === 'unavailable' || kind === 'retry')
        throw new AuthError('unavailable', 'Database is unavailable', { cause: error })
      throw error
    }
  }
}
