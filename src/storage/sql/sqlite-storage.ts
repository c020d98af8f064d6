import { mkdirSync } from 'node:fs'
import { Kysely, SqliteDialect } from 'kysely'
import { loadOptionalPeer } from '../../internal/optional-peer.js'
import type { Storage } from '../storage.js'
import type { Database } from './schema.js'
import { SQLStorage } from './sql-storage.js'
import { describeDriverError, type SQLTraits, uniqueKindFromMessage } from './sql-traits.js'
import { checkSQLitePath } from './sqlite-path.js'

/** Options of {@link createSQLiteStorage}. */
export interface SQLiteStorageOptions {
  /** File path, or `:memory:` for a database that lives and dies with the process. */
  path: string
  /** How long a writer waits for another process's lock before `unavailable`. Default 5000 ms. */
  busyTimeoutMs?: number
  /** The setting a bad `path` is reported under (`DATABASE_URL` when it came from one). Default `path`. */
  setting?: string
}

const sqliteTraits: SQLTraits = {
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

interface SharedFile {
  db: Promise<Kysely<Database>>
  users: number
}

/*
 * better-sqlite3 is synchronous: a connection that waits for a lock blocks the whole thread. Two
 * connections to one file in one process would therefore deadlock (the holder of the lock cannot
 * run while the waiter blocks), so each process keeps one connection per file, shared by every
 * storage on it, and Kysely's connection mutex orders their transactions. Other processes wait on
 * the lock in their own threads, under busy_timeout.
 */
const openFiles = new Map<string, SharedFile>()

async function openKysely(
  path: string,
  busyTimeoutMs: number,
  createFolder: string | null = null,
): Promise<Kysely<Database>> {
  const { default: BetterSqlite3 } = await loadOptionalPeer(() => import('better-sqlite3'), {
    name: 'better-sqlite3',
    setting: 'DATABASE_URL',
    install: 'npm install better-sqlite3@12',
    usedBy: 'SQLite',
  })
  const inMemory = path === ':memory:'
  if (createFolder !== null) mkdirSync(createFolder, { recursive: true })
  const database = new BetterSqlite3(path)
  database.pragma(`busy_timeout = ${busyTimeoutMs}`)
  if (!inMemory) database.pragma('journal_mode = WAL')
  // FULL: a rotation that answered the client survives a power cut, so the new token stays valid.
  database.pragma('synchronous = FULL')
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
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
    const db = await openKysely(':memory:', busyTimeoutMs)
    return new SQLStorage({ db, traits: sqliteTraits, capabilities: { sharedAcrossProcesses: false } })
  }
  const { file: key, createFolder } = checkSQLitePath(options.path, options.setting ?? 'path')
  let shared = openFiles.get(key)
  if (!shared) {
    shared = { db: openKysely(key, busyTimeoutMs, createFolder), users: 0 }
    openFiles.set(key, shared)
  }
  shared.users++
  const file = shared
  let db: Kysely<Database>
  try {
    db = await file.db
  } catch (error) {
    file.users--
    if (openFiles.get(key) === file) openFiles.delete(key)
    throw error
  }
  let closed = false
  return new SQLStorage({
    db,
    traits: sqliteTraits,
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
