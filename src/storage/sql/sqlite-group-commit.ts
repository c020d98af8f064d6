import { Worker } from 'node:worker_threads'
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
import { SQLITE_WORKER_SOURCE } from './sqlite-worker-source.js'

/*
 * Group commit for an SQLite file, with its connections in a worker thread.
 *
 * With `synchronous = FULL` a commit is an fsync, about 0.2-0.4 ms, and better-sqlite3 would run
 * it on the event loop, one per rotation. Here the worker owns the file; every transaction of the
 * storage (a unit) runs in a savepoint of the batch's one open transaction, units one after the
 * other, and the batch commits when no unit is waiting (or when it holds BATCH_LIMIT units):
 * one fsync for every unit that arrived while the previous one ran. A unit's commit resolves
 * only once its batch's COMMIT returned, so nothing is acknowledged before it is durable; a unit
 * that fails rolls back to its own savepoint, leaving the others of its batch as they were. A
 * COMMIT that fails fails every unit of that batch (none of them was acknowledged).
 *
 * Reads outside a transaction go to the worker's second, read-only connection, which sees what
 * was committed: an answer never rests on a unit whose batch could still fail.
 */

/** Most units in one batch: bounds how long the first of them waits for its commit. */
const BATCH_LIMIT = 128

interface Reply {
  id?: number
  ok?: boolean
  ready?: boolean
  result?: { rows: unknown[]; changes?: number; lastInsertRowid?: number | bigint } | null
  error?: { message: string; code: string }
}

/** An error of the worker's driver, with its SQLite code, as sql-traits classify it. */
class SQLiteWorkerError extends Error {
  readonly code: string
  constructor(error: { message: string; code: string }) {
    super(error.message)
    this.name = 'SqliteError'
    this.code = error.code
  }
}

/** The worker and its request/answer bookkeeping. */
class SQLiteThread {
  readonly #worker: Worker
  readonly #waiting = new Map<number, { resolve: (r: Reply['result']) => void; reject: (e: Error) => void }>()
  #nextId = 1
  #failure: Error | null = null
  readonly ready: Promise<void>

  constructor(path: string, busyTimeoutMs: number, driverPath: string) {
    this.#worker = new Worker(SQLITE_WORKER_SOURCE, {
      eval: true,
      workerData: { path, busyTimeoutMs, driverPath },
    })
    let started: () => void = () => {}
    let failed: (error: Error) => void = () => {}
    this.ready = new Promise((resolve, reject) => {
      started = resolve
      failed = reject
    })
    this.#worker.on('message', (reply: Reply) => {
      if (reply.ready) return started()
      const waiter = this.#waiting.get(reply.id!)
      if (!waiter) return
      this.#waiting.delete(reply.id!)
      if (reply.ok) waiter.resolve(reply.result)
      else waiter.reject(new SQLiteWorkerError(reply.error!))
    })
    const fail = (error: Error) => {
      this.#failure ??= error
      failed(error)
      for (const waiter of this.#waiting.values()) waiter.reject(error)
      this.#waiting.clear()
    }
    this.#worker.on('error', fail)
    this.#worker.on('exit', () => fail(new Error('database connection is not open')))
  }

  /** Sends `message` and resolves with the worker's answer. */
  request(message: Record<string, unknown>): Promise<Reply['result']> {
    if (this.#failure) return Promise.reject(this.#failure)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#worker.postMessage({ ...message, id })
    })
  }

  /** Sends `message` without waiting (its failure reaches the batch's commit). */
  post(message: Record<string, unknown>): void {
    if (!this.#failure) this.#worker.postMessage(message)
  }

  async close(): Promise<void> {
    if (this.#failure) return
    await this.request({ op: 'close' })
    await this.#worker.terminate()
  }
}

function toQueryResult<R>(result: Reply['result']): QueryResult<R> {
  if (!result) return { rows: [] }
  if (result.changes === undefined) return { rows: result.rows as R[] }
  return {
    rows: result.rows as R[],
    numAffectedRows: BigInt(result.changes),
    insertId: result.lastInsertRowid === undefined ? undefined : BigInt(result.lastInsertRowid),
  }
}

/** Whether a statement outside a transaction only reads (the read-only connection answers it). */
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
  readonly #turn = new Turn()
  #batch: Batch | null = null

  constructor(thread: SQLiteThread) {
    this.#thread = thread
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
      return toQueryResult(await this.#thread.request({ op: 'query', on: 'writer', begin, ...message }))
    }
    if (isRead(query))
      return toQueryResult(await this.#thread.request({ op: 'query', on: 'reader', ...message }))
    // A write on its own is a unit of one statement: durable before it is answered, like the others.
    await this.#turn.take()
    let result: Reply['result']
    let batch: Batch
    try {
      result = await this.#thread.request({ op: 'statement', ...message })
      batch = this.#join()
    } finally {
      this.#endTurn()
    }
    await batch.done
    return toQueryResult(result)
  }

  /** The open batch, with one unit more. */
  #join(): Batch {
    this.#batch ??= new Batch()
    this.#batch.size++
    return this.#batch
  }

  /** Ends a unit's turn: commits the batch when no unit waits to join it, or when it is full. */
  #endTurn(): void {
    const batch = this.#batch
    if (batch !== null && (this.#turn.waiting === 0 || batch.size >= BATCH_LIMIT)) {
      this.#batch = null
      // Messages are handled in order: a unit that starts now runs after this COMMIT, in a new batch.
      this.#thread.request({ op: 'commit' }).then(
        () => batch.settle(null),
        (error: Error) => batch.settle(error),
      )
    }
    this.#turn.pass()
  }

  async destroy(): Promise<void> {
    await this.#thread.close()
  }
}

/**
 * A Kysely dialect for an SQLite file whose connections live in a worker thread and whose
 * transactions commit in groups (see above). `driverPath` is the resolved `better-sqlite3`
 * module, which the worker loads.
 */
export function createGroupCommitDialect(path: string, busyTimeoutMs: number, driverPath: string): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new GroupCommitDriver(new SQLiteThread(path, busyTimeoutMs, driverPath)),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  }
}
