import type BetterSqlite3 from 'better-sqlite3'

/** Statements kept prepared, like the worker's cache. */
const STATEMENT_CACHE = 500

/**
 * A read-only connection to an SQLite file on the calling (event-loop) thread, for reads made
 * outside a transaction: a point read takes microseconds, less than the trip to the worker and
 * back (sqlite-group-commit.ts), and it never queues behind a batch's fsync. In WAL mode a reader
 * does not wait for the writer, and each statement here is its own read transaction: it sees
 * every batch whose COMMIT returned before it began, so a read that follows an acknowledged
 * write sees that write.
 *
 * Its `busy_timeout` is 0: the few moments a WAL reader must wait (another connection recovering
 * the WAL index) would block the event loop; the read is then handed to the worker, which may wait.
 */
export class MainThreadReader {
  readonly #open: () => BetterSqlite3.Database
  #db: BetterSqlite3.Database | null = null
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(Database: typeof BetterSqlite3, path: string) {
    this.#open = () => {
      const db = new Database(path, { readonly: true, fileMustExist: true })
      db.pragma('busy_timeout = 0')
      return db
    }
  }

  /** The rows `sql` reads, or `undefined` when this connection cannot answer now (the worker will). */
  read(sql: string, parameters: readonly unknown[]): unknown[] | undefined {
    try {
      this.#db ??= this.#open()
      let statement = this.#statements.get(sql)
      if (statement === undefined) {
        statement = this.#db.prepare(sql)
        if (this.#statements.size >= STATEMENT_CACHE)
          this.#statements.delete(this.#statements.keys().next().value!)
        this.#statements.set(sql, statement)
      }
      // Not a statement that returns rows after all: the worker's writer runs it.
      if (!statement.reader) return undefined
      return statement.all(parameters)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|CANTOPEN)/.test(code)) return undefined
      throw error
    }
  }

  close(): void {
    this.#statements.clear()
    this.#db?.close()
    this.#db = null
  }
}
