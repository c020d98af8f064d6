import { Worker } from 'node:worker_threads'
import { SQLITE_WORKER_SOURCE } from './sqlite-worker-source.js'

/** One statement's outcome, as the worker sends it back. */
export interface StatementResult {
  rows: unknown[]
  changes?: number
  lastInsertRowid?: number | bigint
}

/** What the worker answers: one statement's result, a unit's results, or nothing. */
export type WorkerResult = StatementResult | (StatementResult | null)[] | null

interface Reply {
  id?: number
  ok?: boolean
  ready?: boolean
  result?: WorkerResult
  error?: { message: string; code: string }
}

/** An error of the worker's driver, with its SQLite code, as sql-traits classify it. */
export class SQLiteWorkerError extends Error {
  readonly code: string
  constructor(error: { message: string; code: string }) {
    super(error.message)
    this.name = 'SqliteError'
    this.code = error.code
  }
}

/** The worker that owns an SQLite file's connections, and its request/answer bookkeeping. */
export class SQLiteThread {
  readonly #worker: Worker
  readonly #waiting = new Map<number, { resolve: (r: WorkerResult) => void; reject: (e: Error) => void }>()
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
      if (reply.ok) waiter.resolve(reply.result ?? null)
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
  request(message: Record<string, unknown>): Promise<WorkerResult> {
    if (this.#failure) return Promise.reject(this.#failure)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      message.id = id
      this.#worker.postMessage(message)
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
