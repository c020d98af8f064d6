import { Kysely, PostgresDialect } from 'kysely'
import { loadOptionalPeer } from '../../internal/optional-peer.js'
import type { Storage } from '../storage.js'
import type { StorageErrorKind } from '../storage-guard.js'
import { resolvePoolOptions, type SQLPoolOptions } from './pool-options.js'
import type { Database } from './schema.js'
import { SQLStorage } from './sql-storage.js'
import { describeDriverError, NETWORK_ERROR_CODES, type SQLTraits } from './sql-traits.js'

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /**
   * `postgres://user:password@host:5432/database` (or `postgresql://`). Pool settings may ride in
   * its query: `?max=20&idleTimeoutMs=10000&connectTimeoutMs=2000`; other parameters go to `pg`.
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

/** PostgreSQL's type id of `int8` (BIGINT), the type of every epoch-milliseconds column. */
const INT8_OID = 20

/*
 * SQLSTATEs that mean "the database cannot be reached or cannot serve now", besides the classes
 * 08 (connection exception) and 53 (insufficient resources: too many connections, disk full):
 * 57P01-57P03 admin shutdown, crash shutdown, cannot connect now; 57014 statement cancelled (a
 * `statement_timeout`); 3D000 the database does not exist (dropped or renamed under us); 55000
 * the database does not accept connections (`ALLOW_CONNECTIONS false`), which none of our
 * statements can raise otherwise.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '57014', '3D000', '55000', '53300'])

/*
 * pg reports a lost socket or a pool that cannot hand out a connection with plain Errors that carry
 * no code; their (English, driver-side) messages are stable across pg 8.
 */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client was closed|Connection ended|connection has been discarded|driver has already been destroyed/i

function classifyPostgresError(error: unknown): StorageErrorKind {
  const { code, message } = describeDriverError(error)
  if (code === '23505') {
    // The constraint's name says which column; the message's `detail` holds the value itself, and a
    // value such as "username@example.com" must not be read as the username column.
    const constraint = (error as { constraint?: unknown }).constraint
    const name = typeof constraint === 'string' ? constraint : ''
    if (/username/i.test(name)) return 'unique_username'
    if (/email/i.test(name)) return 'unique_email'
    return 'unique_other'
  }
  // deadlock_detected, serialization_failure: the transaction was rolled back; run it again.
  if (code === '40P01' || code === '40001') return 'retry'
  if (NETWORK_ERROR_CODES.has(code)) return 'unavailable'
  if (code.startsWith('08') || code.startsWith('53') || UNAVAILABLE_STATES.has(code)) return 'unavailable'
  if (code === '' && UNAVAILABLE_MESSAGES.test(message)) return 'unavailable'
  return null
}

/** How PostgreSQL differs: row locks, unique indexes on `lower()`, BIGINT times. */
export const postgresTraits: SQLTraits = Object.freeze({
  name: 'postgres',
  supportsForUpdate: true,
  supportsUpdateReturning: true,
  caseInsensitiveColumn: null,
  lowerCaseUniqueIndex: true,
  rotatesInOneStatement: true,
  timeType: 'bigint',
  classifyError: classifyPostgresError,
})

/**
 * Opens a PostgreSQL database with `pg` (an optional peer dependency) behind a connection pool.
 * BIGINT columns are parsed to numbers by this pool only (epoch milliseconds fit in a double), so
 * the process's other `pg` users keep their own parsers.
 *
 * @example
 * ```ts
 * const storage = await createPostgresStorage({ url: 'postgres://app@db:5432/app', pool: { max: 20 } })
 * await storage.migrate()
 * ```
 */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const { default: pg } = await loadOptionalPeer(() => import('pg'), {
    name: 'pg',
    setting: 'DATABASE_URL',
    install: 'npm install pg@8',
    usedBy: 'PostgreSQL',
  })
  const { url, pool: poolOptions } = resolvePoolOptions(options.url, options.pool)
  const pool = new pg.Pool({
    connectionString: url,
    max: poolOptions.max,
    idleTimeoutMillis: poolOptions.idleTimeoutMs,
    connectionTimeoutMillis: poolOptions.connectTimeoutMs,
    keepAlive: true,
    // A default that `?application_name=` in the URL overrides: it names our sessions in pg_stat_activity.
    application_name: 'tokenpair',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  })
  // An idle connection that the server closes (restart, pg_terminate_backend) is reported here;
  // without a listener Node would crash the process. The pool drops it and opens a new one on demand,
  // and the next query that cannot connect answers `unavailable`.
  pool.on('error', () => {})
  // A connection the server ends while a transaction holds it between two statements emits
  // 'error' on the client itself, which pg-pool leaves unhandled once the client is checked out.
  // The transaction's next statement fails ("not queryable", hence `unavailable`) and the pool
  // discards the client.
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return new SQLStorage({ db, traits: postgresTraits, tablePrefix: options.tablePrefix })
}
