import type BetterSqlite3 from 'better-sqlite3'
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'
import type { UnitRunner, UnitStatement } from './sql-unit-runner.js'
import { MainThreadReader } from './sqlite-main-reader.js'
import { SQLiteThread, type StatementResult } from './sqlite-thread.js'

/*
 * Group commit for an SQLite file, with its writer connection in a worker thread.
 *
 * With `synchronous = FULL` a commit is an fsync, about 0.2-0.4 ms, and better-sqlite3 would run
 * it on the event loop, one per rotation. Here the worker owns the writer; every transaction of
 * the storage (a unit) runs in a savepoint of the batch's one open transaction, units one after
 * the other, and the batch commits once the previous batch's COMMIT returned and no unit is
 * half-way (or when it holds BATCH_LIMIT units): one fsync for every unit that arrived while the
 * previous one ran. A unit's commit resolves only once its batch's COMMIT returned, so nothing is
 * acknowledged before it is durable; a unit that fails rolls back to its own savepoint, leaving
 * the others of its batch as they were. A COMMIT that fails fails every unit of that batch (none
 * of them was acknowledged).
 *
 * A unit whose statements are all known in advance (a write on its own, the common case of a
 * rotation: `runUnit`) is one message: it is posted and the next unit may follow at once, so
 * that units stream to the worker instead of each waiting for its statements' answers. A unit
 * of JavaScript between statements (a Kysely transaction) holds the writer's turn until it ends.
 *
 * Reads outside a transaction run on a read-only connection of the event-loop thread
 * (sqlite-main-reader.ts), or the worker's when that one cannot answer: both see what was
 * committed, so an answer never rests on a unit whose batch could still fail.
 */

/** Most units in one batch: bounds how long the first of them waits for its commit. */
const BATCH_LIMIT = 128

function toQueryResult<R>(result: StatementResult | null): QueryResult<R> {
  if (!result) return { rows: [] }
  if (result.changes === undefined) return { rows: result.rows as R[] }
  return {
    rows: result.rows as R[],
    numAffectedRows: BigInt(result.changes),
    insertId: result.lastInsertRowid === undefined ? undefined : BigInt(result.lastInsertRowid),
  }
}

/** Whether a statement outside a transaction only reads (a read-only connection answers it). */
function isRead(query: CompiledQuery): boolean {
  return SelectQueryNode.is(query.query) || /^\s*select\b/i.test(query.sql)
}

/** Units that commit together, and the promise each of them waits on. */
class Batch {
  size = 0
  readonly done: Promise<void>
  settle: (error: Error | null) => void = () => {}
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve())
    })
    // A batch nobody awaits (a failed unit left it) must not be an unhandled rejection.
    this.done.catch(() => {})
  }
}

/** One use of the storage: a transaction (a unit) or single statements. */
class UnitConnection implements DatabaseConnection {
  /** Inside a unit: whether its savepoint is still to be opened with its first statement. */
  unit: 'none' | 'opening' | 'open' = 'none'
  constructor(readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query)
  }

  // biome-ignore lint/correctness/useYield: streaming is refused outright
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the SQLite storage')
  }
}

/** The writer's turn: one unit at a time, in arrival order. */
class Turn {
  #held = false
  readonly #queue: (() => void)[] = []

  get held(): boolean {
    return this.#held
  }

  get waiting(): number {
    return this.#queue.length
  }

  take(): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#queue.push(resolve))
  }

  pass(): void {
    const next = this.#queue.shift()
    if (next) next()
    else this.#held = false
  }
}

class GroupCommitDriver implements Driver {
  readonly #thread: SQLiteThread
  readonly #reader: MainThreadReader
  readonly #turn = new Turn()
  #batch: Batch | null = null
  /** COMMITs posted and not answered yet. */
  #committing = 0

  constructor(thread: SQLiteThread, reader: MainThreadReader) {
    this.#thread = thread
    this.#reader = reader
  }

  async init(): Promise<void> {
    await this.#thread.ready
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new UnitConnection(this)
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#turn.take()
    ;(connection as UnitConnection).unit = 'opening'
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const unit = connection as UnitConnection
    const opened = unit.unit === 'open'
    unit.unit = 'none'
    if (!opened) return this.#endTurn()
    this.#thread.post({ op: 'release' })
    const batch = this.#join()
    this.#endTurn()
    await batch.done
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const unit = connection as UnitConnection
    const opened = unit.unit === 'open'
    unit.unit = 'none'
    try {
      if (opened) await this.#thread.request({ op: 'rollback' })
    } finally {
      this.#endTurn()
    }
  }

  async execute<R>(connection: UnitConnection, query: CompiledQuery): Promise<QueryResult<R>> {
    const message = { sql: query.sql, parameters: query.parameters }
    if (connection.unit !== 'none') {
      const begin = connection.unit === 'opening'
      connection.unit = 'open'
      const result = await this.#thread.request({ op: 'query', on: 'writer', begin, ...message })
      return toQueryResult(result as StatementResult)
    }
    if (isRead(query)) {
      const rows = this.#reader.read(query.sql, query.parameters)
      if (rows !== undefined) return { rows: rows as R[] }
      const result = await this.#thread.request({ op: 'query', on: 'reader', ...message })
      return toQueryResult(result as StatementResult)
    }
    // A write on its own is a unit of one statement: durable before it is answered, like the others.
    const [result] = (await this.runUnit([message]))!
    return result as QueryResult<R>
  }

  /** See {@link UnitRunner}. */
  async runUnit(
    statements: readonly UnitStatement[],
    options: { guarded?: boolean } = {},
  ): Promise<QueryResult<unknown>[] | null> {
    await this.#turn.take()
    // Posted in turn: the worker runs it after every unit posted before, whatever the answers.
    const answer = this.#thread.request({ op: 'unit', statements, guarded: options.guarded === true })
    const batch = this.#join()
    this.#endTurn()
    const results = (await answer) as (StatementResult | null)[] | null
    await batch.done
    return results === null ? null : results.map((r) => toQueryResult(r))
  }

  /** The open batch, with one unit more. */
  #join(): Batch {
    this.#batch ??= new Batch()
    this.#batch.size++
    return this.#batch
  }

  /** Ends a unit's turn, and commits the open batch if it may go now. */
  #endTurn(): void {
    const full = this.#batch !== null && this.#batch.size >= BATCH_LIMIT
    // A unit waiting for the turn joins this batch, unless the batch is full.
    if (this.#turn.waiting === 0 || full) this.#commit(full)
    this.#turn.pass()
  }

  /**
   * Posts the open batch's COMMIT when no other COMMIT is on its way (a full batch goes anyway):
   * the units that arrive meanwhile gather into the next batch, which goes when this one returns.
   */
  #commit(full: boolean): void {
    const batch = this.#batch
    if (batch === null || (this.#committing > 0 && !full)) return
    this.#batch = null
    this.#committing++
    // Messages are handled in order: a unit posted after this COMMIT runs in the next batch.
    this.#thread.request({ op: 'commit' }).then(
      () => this.#committed(batch, null),
      (error: Error) => this.#committed(batch, error),
    )
  }

  #committed(batch: Batch, error: Error | null): void {
    this.#committing--
    batch.settle(error)
    // No unit half-way: the batch that gathered meanwhile goes now (else at the end of that unit).
    if (!this.#turn.held) this.#commit(false)
  }

  async destroy(): Promise<void> {
    this.#reader.close()
    await this.#thread.close()
  }
}

/** A dialect of {@link createGroupCommitDialect}, and the runner of whole units on its file. */
export interface GroupCommitDialect {
  dialect: Dialect
  /** Whole units through the dialect's driver; the Kysely instance must have been created. */
  runUnit: UnitRunner
}

/**
 * A Kysely dialect for an SQLite file whose writer lives in a worker thread and whose
 * transactions commit in groups (see above). `driverPath` is the resolved `better-sqlite3`
 * module, which the worker loads; `Database` is the same module, for the event loop's reader.
 */
export function createGroupCommitDialect(
  path: string,
  busyTimeoutMs: number,
  driverPath: string,
  Database: typeof BetterSqlite3,
): GroupCommitDialect {
  let driver: GroupCommitDriver | null = null
  return {
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => {
        driver = new GroupCommitDriver(
          new SQLiteThread(path, busyTimeoutMs, driverPath),
          new MainThreadReader(Database, path),
        )
        return driver
      },
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
    runUnit: (statements, options) => {
      if (driver === null) return Promise.reject(new Error('database connection is not open'))
      return driver.runUnit(statements, options)
    },
  }
}
