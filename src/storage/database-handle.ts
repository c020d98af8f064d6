import type { Kysely, MysqlPool, PostgresPool, SqliteDatabase } from 'kysely'
import { ConfigError } from '../errors.js'

/** A `pg.Pool` of the app's, by the members tokenpair uses (`pg.Client` is refused: Kysely needs a pool). */
export interface PostgresPoolHandle extends PostgresPool {
  /** How many clients the pool holds: what tells a pool from a `pg.Client`. */
  readonly totalCount: number
}

/**
 * A `mysql2` pool of the app's: the callback pool of `mysql2`'s `createPool`, or the promise pool
 * of `mysql2/promise`, whose `pool` is the callback pool beneath it (Kysely's MySQL driver speaks
 * callbacks). Both are used the same way, without changing their settings.
 */
export type MySQLPoolHandle = MysqlPool | { readonly pool: MysqlPool }

/**
 * A `better-sqlite3` Database of the app's, on a file. tokenpair writes SQLite from a worker
 * thread (group commit, sqlite-group-commit.ts), and a handle cannot move to another thread: it
 * opens the same file (`name`) there, in WAL mode, and never uses or closes the app's handle.
 * An in-memory or temporary database has no file to open, so it is refused.
 */
export interface SQLiteDatabaseHandle extends SqliteDatabase {
  /** The path it was opened with. */
  readonly name: string
  /** `true` for `:memory:` and temporary databases. */
  readonly memory: boolean
  /** `false` once closed. */
  readonly open: boolean
}

/**
 * A database handle the app already holds (`database` of `createAuth`), so that tokenpair lives
 * in the app's database without a second pool: a `pg.Pool`, a `mysql2` pool, a `better-sqlite3`
 * Database, or a Kysely instance on PostgreSQL, MySQL/MariaDB or SQLite. `auth.close()` leaves it
 * open: the app closes what it opened (docs/embedding.md).
 */
export type DatabaseHandle =
  | PostgresPoolHandle
  | MySQLPoolHandle
  | SQLiteDatabaseHandle
  // biome-ignore lint/suspicious/noExplicitAny: any app's Kysely<DB> is accepted; tokenpair types its own tables.
  | Kysely<any>

/** Which driver a {@link DatabaseHandle} belongs to. */
export type DatabaseHandleKind = 'postgres' | 'mysql' | 'sqlite' | 'kysely'

type Members = Record<string, unknown>

const isFunction = (value: unknown): boolean => typeof value === 'function'

/**
 * The kind of handle `value` is, or `null` when it is none (a `Storage`, say). Recognised by the
 * members each driver has, so that no driver is loaded to ask. Throws a {@link ConfigError} under
 * `setting` for a handle tokenpair cannot use: a `pg.Client`, an in-memory or closed SQLite database.
 *
 * @example
 * ```ts
 * kindOfDatabaseHandle(new pg.Pool(), 'database') // 'postgres'
 * ```
 */
export function kindOfDatabaseHandle(value: unknown, setting: string): DatabaseHandleKind | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as Members
  if (isFunction(v.getExecutor) && isFunction(v.withoutPlugins)) return 'kysely'
  if (isFunction(v.prepare) && isFunction(v.pragma) && typeof v.name === 'string') {
    if (v.memory === true) {
      throw new ConfigError(
        setting,
        'an in-memory better-sqlite3 Database cannot be shared: tokenpair writes SQLite from a worker thread, which opens the file by its path. Use a file, sqlite::memory: for a database of its own, or a Kysely instance on the handle',
      )
    }
    if (v.open === false) throw new ConfigError(setting, 'the better-sqlite3 Database is closed')
    return 'sqlite'
  }
  if (isFunction((v.pool as Members | undefined)?.getConnection) || isFunction(v.getConnection))
    return 'mysql'
  if (isFunction(v.connect) && isFunction(v.query)) {
    if (typeof v.totalCount !== 'number') {
      throw new ConfigError(setting, 'a pg.Client cannot be shared: pass a pg.Pool')
    }
    return 'postgres'
  }
  return null
}
