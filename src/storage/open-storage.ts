import { resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { type DatabaseHandle, kindOfDatabaseHandle } from './database-handle.js'
import type { SQLPoolOptions } from './sql/pool-options.js'
import type { Storage } from './storage.js'
import { checkTablePrefix } from './table-prefix.js'

/** Options of {@link openStorage}. */
export interface OpenStorageOptions {
  /** Pool settings of PostgreSQL and MySQL; they win over the URL's `?max=…`. Ignored by SQLite. */
  pool?: SQLPoolOptions
  /**
   * The prefix of tokenpair's tables (MongoDB: collections), checked by `checkTablePrefix`.
   * Default `tp_`.
   */
  tablePrefix?: string
}

/** The scheme of a database URL, lower-cased, without its colon. The rest is never echoed (passwords). */
function readScheme(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? ''
}

/**
 * Opens the Storage a database URL names. Does not migrate. Each adapter module, and the driver
 * behind it (an optional peer dependency), is loaded only when its scheme is asked for, so a
 * PostgreSQL user needs no SQLite binary and the other way round.
 *
 * - `sqlite:PATH`, `sqlite::memory:`: better-sqlite3
 * - `postgres://…`, `postgresql://…`: pg
 * - `mysql://…`, `mariadb://…`: mysql2
 * - `mongodb://…`, `mongodb+srv://…`: mongodb (database from the URL's path, default `tokenpair`)
 *
 * @example
 * ```ts
 * const storage = await openStorage('postgres://app@db:5432/app?max=20')
 * await storage.migrate()
 * ```
 */
export async function openStorage(url: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const scheme = readScheme(url)
  const prefix = options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix }
  switch (scheme) {
    case 'sqlite': {
      const path = url.slice('sqlite:'.length)
      if (path === '')
        throw new ConfigError('DATABASE_URL', 'sqlite: needs a path, e.g. sqlite:./data/tokenpair.db')
      // `sqlite://./x.db` reads as a path from the root (`//./x.db`), which nobody means.
      if (path.startsWith('//')) {
        throw new ConfigError(
          'DATABASE_URL',
          `write sqlite: and a path (sqlite:./data/tokenpair.db, sqlite:/var/lib/tokenpair/auth.db), not sqlite://`,
        )
      }
      const { createSQLiteStorage } = await import('./sql/sqlite-storage.js')
      return createSQLiteStorage({ path, setting: 'DATABASE_URL', ...prefix })
    }
    case 'postgres':
    case 'postgresql': {
      const { createPostgresStorage } = await import('./sql/postgres-storage.js')
      return createPostgresStorage({ url, ...(options.pool ? { pool: options.pool } : {}), ...prefix })
    }
    case 'mysql':
    case 'mariadb': {
      const { createMySQLStorage } = await import('./sql/mysql-storage.js')
      return createMySQLStorage({ url, ...(options.pool ? { pool: options.pool } : {}), ...prefix })
    }
    case 'mongodb':
    case 'mongodb+srv': {
      const { createMongoDBStorage } = await import('./mongodb/mongodb-storage.js')
      return createMongoDBStorage({
        url,
        ...(options.tablePrefix === undefined
          ? {}
          : { collectionPrefix: checkTablePrefix(options.tablePrefix, 'tablePrefix') }),
      })
    }
    default:
      throw new ConfigError('DATABASE_URL', `unsupported database URL scheme: ${scheme || '(none)'}`)
  }
}

/** Options of {@link openDatabaseHandle}. */
export interface OpenDatabaseHandleOptions {
  /** The prefix of tokenpair's tables (`checkTablePrefix`). Default `tp_`. */
  tablePrefix?: string
}

/**
 * Opens a Storage on a database handle the app holds (a `pg.Pool`, a `mysql2` pool, a
 * `better-sqlite3` Database, a Kysely instance: {@link DatabaseHandle}). Does not migrate.
 * Closing the storage leaves the handle open. Throws a `ConfigError` under `database` for
 * anything else, or a handle it cannot use (a `pg.Client`, an in-memory SQLite database).
 *
 * @example
 * ```ts
 * const storage = await openDatabaseHandle(pool, { tablePrefix: 'auth_' })
 * await storage.migrate()
 * ```
 */
export async function openDatabaseHandle(
  handle: DatabaseHandle,
  options: OpenDatabaseHandleOptions = {},
): Promise<Storage> {
  const kind = kindOfDatabaseHandle(handle, 'database')
  if (kind === null) {
    throw new ConfigError(
      'database',
      'not a pg.Pool, a mysql2 pool, a better-sqlite3 Database or a Kysely instance',
    )
  }
  const { createHandleStorage } = await import('./sql/sql-handle-storage.js')
  return createHandleStorage(handle, kind, options)
}

/**
 * A database URL as it may be printed: an SQLite path made absolute (which file was opened, from
 * wherever the command ran), other URLs without their password and query (either may hold a
 * secret).
 *
 * @example
 * ```ts
 * describeDatabaseUrl('postgres://app:secret@db:5432/app?sslmode=require') // 'postgres://app@db:5432/app'
 * ```
 */
export function describeDatabaseUrl(url: string, cwd = process.cwd()): string {
  if (readScheme(url) === 'sqlite') {
    const path = url.slice('sqlite:'.length)
    return path === ':memory:' ? url : `sqlite:${resolve(cwd, path)}`
  }
  try {
    const parsed = new URL(url)
    parsed.password = ''
    parsed.search = ''
    return parsed.toString()
  } catch {
    return `${readScheme(url) || '(no scheme)'}:…`
  }
}
