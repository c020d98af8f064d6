import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { loadOptionalPeer } from '../../internal/optional-peer.js'
import type { Storage } from '../storage.js'
import type { Database } from './schema.js'
import { SQLStorage } from './sql-storage.js'
import { describeDriverError, type SQLTraits, uniqueKindFromMessage } from './sql-traits.js'
import type { UnitRunner } from './sql-unit-runner.js'
import { createGroupCommitDialect } from './sqlite-group-commit.js'
import { checkSQLitePath } from './sqlite-path.js'

/** Options of {@link createSQLiteStorage}. */
export interface SQLiteStorageOptions {
  /** File path, or `:memory:` for a database that lives and dies with the process. */
  path: string
  /** How long a writer waits for another process's lock before `unavailable`. Default 5000 ms. */
  busyTimeoutMs?: number
  /** The setting a bad `path` is reported under (`DATABASE_URL` when it came from one). Default `path`. */
  setting?: string
  /**
   * The prefix of tokenpair's tables, indexes and constraints (`checkTablePrefix`: a lower-case
   * letter, then `a-z`, `0-9` and `_`, at most 24 characters). Default `tp_`.
   */
  tablePrefix?: string
}

/** How SQLite differs: no row locks (writers are serialised), `lower()` unique indexes, INTEGER times. */
export const sqliteTraits: SQLTraits = {
  name: 'sqlite',
  supportsForUpdate: false,
  supportsUpdateReturning: true,
  caseInsensitiveColumn: null,
  lowerCaseUniqueIndex: true,
  timeType: 'integer',
  classifyError(error) {
    const { code, message } = describeDriverError(error)
    if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      return uniqueKindFromMessage(message)
    }
    if (
      code.startsWith('SQLITE_BUSY') ||
      code.startsWith('SQLITE_LOCKED') ||
      code.startsWith('SQLITE_CANTOPEN')
    ) {
      return 'unavailable'
    }
    if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_') || code === 'SQLITE_FULL')
      return 'unavailable'
    // A storage used after close(): Kysely's and better-sqlite3's own words for it.
    if (/driver has already been destroyed|database connection is not open/i.test(message))
      return 'unavailable'
    return null
  },
}

interface OpenFile {
  db: Kysely<Database>
  /** Whole units on the file's writer (the group commit's), `undefined` in memory. */
  runUnit?: UnitRunner
}

interface SharedFile {
  file: Promise<OpenFile>
  users: number
}

/*
 * Each process keeps one worker per file (sqlite-group-commit.ts), shared by every storage on
 * it: one writer connection whose transactions commit in groups, and one read-only connection;
 * plus a read-only connection on the event loop for reads outside a transaction.
 * Other processes wait for the write lock in their own workers, under busy_timeout, and never
 * block an event loop while they wait. An in-memory database stays on the calling thread.
 */
const openFiles = new Map<string, SharedFile>()

async function openKysely(
  path: string,
  busyTimeoutMs: number,
  createFolder: string | null = null,
): Promise<OpenFile> {
  const { default: BetterSqlite3 } = await loadOptionalPeer(() => import('better-sqlite3'), {
    name: 'better-sqlite3',
    setting: 'DATABASE_URL',
    install: 'npm install better-sqlite3@12',
    usedBy: 'SQLite',
  })
  if (createFolder !== null) mkdirSync(createFolder, { recursive: true })
  if (path !== ':memory:') {
    // A file: its connections in a worker thread, transactions committed in groups
    // (sqlite-group-commit.ts), so that the fsync of a commit never blocks the event loop.
    const driverPath = createRequire(import.meta.url).resolve('better-sqlite3')
    const { dialect, runUnit } = createGroupCommitDialect(path, busyTimeoutMs, driverPath, BetterSqlite3)
    const db = new Kysely<Database>({ dialect })
    try {
      await sql`select 1`.execute(db)
    } catch (error) {
      await db.destroy().catch(() => {})
      throw error
    }
    return { db, runUnit }
  }
  const database = new BetterSqlite3(path)
  database.pragma(`busy_timeout = ${busyTimeoutMs}`)
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }) }
}

/**
 * Opens an SQLite database with `better-sqlite3` (an optional peer dependency) in WAL mode, so that
 * readers never wait for the writer and several processes can share one file.
 *
 * @example
 * ```ts
 * const storage = await createSQLiteStorage({ path: './data/tokenpair.db' })
 * await storage.migrate()
 * ```
 */
export async function createSQLiteStorage(options: SQLiteStorageOptions): Promise<Storage> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  if (options.path === ':memory:') {
    const { db } = await openKysely(':memory:', busyTimeoutMs)
    return new SQLStorage({
      db,
      traits: sqliteTraits,
      tablePrefix: options.tablePrefix,
      capabilities: { sharedAcrossProcesses: false },
    })
  }
  const { file: key, createFolder } = checkSQLitePath(options.path, options.setting ?? 'path')
  let shared = openFiles.get(key)
  if (!shared) {
    shared = { file: openKysely(key, busyTimeoutMs, createFolder), users: 0 }
    openFiles.set(key, shared)
  }
  shared.users++
  const file = shared
  let opened: OpenFile
  try {
    opened = await file.file
  } catch (error) {
    file.users--
    if (openFiles.get(key) === file) openFiles.delete(key)
    throw error
  }
  let closed = false
  const { db, runUnit } = opened
  return new SQLStorage({
    db,
    traits: sqliteTraits,
    tablePrefix: options.tablePrefix,
    ...(runUnit ? { runUnit } : {}),
    close: async () => {
      if (closed) return
      closed = true
      file.users--
      if (file.users === 0) {
        openFiles.delete(key)
        await db.destroy()
      }
    },
  })
}
