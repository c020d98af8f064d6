import { Kysely, MysqlDialect, sql } from 'kysely'
import { loadOptionalPeer } from '../../internal/optional-peer.js'
import type { Storage } from '../storage.js'
import type { StorageErrorKind } from '../storage-guard.js'
import { resolvePoolOptions, type SQLPoolOptions } from './pool-options.js'
import type { Database } from './schema.js'
import { SQLStorage } from './sql-storage.js'
import { describeDriverError, NETWORK_ERROR_CODES, type SQLTraits } from './sql-traits.js'

/** Options of {@link createMySQLStorage}. */
export interface MySQLStorageOptions {
  /**
   * `mysql://user:password@host:3306/database` (or `mariadb://`). Pool settings may ride in its
   * query: `?max=20&idleTimeoutMs=10000&connectTimeoutMs=2000`; other parameters go to `mysql2`.
   */
  url: string
  /** Pool settings; they win over the URL's. */
  pool?: SQLPoolOptions
  /**
   * The prefix of tokenpair's tables, indexes and constraints (`checkTablePrefix`: a lower-case
   * letter, then `a-z`, `0-9` and `_`, at most 24 characters). Default `tp_`.
   */
  tablePrefix?: string
}

/*
 * mysql2 error codes that mean "the server cannot be reached or cannot serve now": lost or refused
 * connections, too many connections, shutdown, a killed connection or query, a database that is
 * gone, a lock that was not granted in time, a server switched to read-only.
 */
const UNAVAILABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_SHUTDOWN_COMPLETE',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_BAD_DB_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_CLIENT_INTERACTION_TIMEOUT',
])

// mysql2's pool and closed connections raise plain Errors without a code.
const UNAVAILABLE_MESSAGES =
  /Pool is closed|connection is in closed state|Queue limit reached|Connection lost|read ECONNRESET/i

function classifyMySQLError(error: unknown): StorageErrorKind {
  const { code } = describeDriverError(error)
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    sqlMessage?: unknown
    message?: unknown
    fatal?: unknown
  }
  if (code === 'ER_DUP_ENTRY' || code === '1062') {
    // "Duplicate entry '<value>' for key '<key>'": only the key's name says which column; the value
    // could be an address such as "username@example.com".
    const text = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message ?? '')
    const key = /for key '([^']*)'\s*$/.exec(text)?.[1] ?? ''
    if (/username/i.test(key)) return 'unique_username'
    if (/email/i.test(key)) return 'unique_email'
    return 'unique_other'
  }
  if (code === 'ER_LOCK_DEADLOCK' || code === '1213') return 'retry'
  if (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_CODES.has(code)) return 'unavailable'
  // mysql2 marks every error that broke the connection itself as fatal.
  if (e.fatal === true) return 'unavailable'
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return 'unavailable'
  return null
}

/**
 * How MySQL and MariaDB differ: row locks (and REPEATABLE READ, whose snapshot a locking read
 * bypasses), binary name and address columns with unique lower-cased copies, BIGINT times.
 */
export const mysqlTraits: SQLTraits = Object.freeze({
  name: 'mysql',
  supportsForUpdate: true,
  lockOwnerRowFirst: true,
  // Pinned rather than inherited from the database's default, which could be case-sensitive: the
  // unique indexes then refuse "Alice" next to "alice" by themselves.
  caseInsensitiveColumn: sql`collate utf8mb4_general_ci`,
  lowerCaseUniqueIndex: false,
  // general_ci folds accents too (alicé = alice), while the limiter counts exact names: the
  // columns become binary, with case-insensitive uniqueness from stored lower() columns.
  exactNameMigration: true,
  timeType: 'bigint',
  classifyError: classifyMySQLError,
})

/**
 * Opens a MySQL or MariaDB database with `mysql2` (an optional peer dependency) behind a connection
 * pool. Tables use InnoDB (row locks, transactions) and `utf8mb4`.
 *
 * @example
 * ```ts
 * const storage = await createMySQLStorage({ url: 'mysql://app:secret@db:3306/app?max=20' })
 * await storage.migrate()
 * ```
 */
export async function createMySQLStorage(options: MySQLStorageOptions): Promise<Storage> {
  const mysql = await loadOptionalPeer(() => import('mysql2'), {
    name: 'mysql2',
    setting: 'DATABASE_URL',
    install: 'npm install mysql2@3',
    usedBy: 'MySQL (and MariaDB)',
  })
  const { url, pool: poolOptions } = resolvePoolOptions(options.url, options.pool)
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: poolOptions.max,
    maxIdle: poolOptions.max,
    idleTimeout: poolOptions.idleTimeoutMs,
    connectTimeout: poolOptions.connectTimeoutMs,
    enableKeepAlive: true,
    charset: 'utf8mb4',
    // Epoch milliseconds need more than 32 bits; below 2^53 they come back as plain numbers.
    supportBigNumbers: true,
    bigNumberStrings: false,
  })
  // A pooled connection that the server drops while idle emits here; without a listener Node would
  // crash. mysql2 removes it from the pool, and the next query opens a new one.
  pool.on('connection', (connection) => {
    connection.on('error', () => {})
  })
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
  return new SQLStorage({ db, traits: mysqlTraits, tablePrefix: options.tablePrefix })
}
