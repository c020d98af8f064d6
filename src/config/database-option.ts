import { ConfigError } from '../errors.js'
import { type DatabaseHandle, kindOfDatabaseHandle } from '../storage/database-handle.js'
import type { Storage } from '../storage/storage.js'
import { checkTablePrefix, DEFAULT_TABLE_PREFIX } from '../storage/table-prefix.js'

/** `database` and `tablePrefix` of `createAuth`, resolved: exactly one of the first three is set. */
export interface ResolvedDatabase {
  /** A ready Storage of the app's: used as it is, never closed. */
  readonly storage: Storage | null
  /** A database URL: createAuth opens it, and closes it on `close()`. */
  readonly databaseUrl: string | null
  /** A handle of the app's: createAuth builds its storage on it, and leaves it open on `close()`. */
  readonly databaseHandle: DatabaseHandle | null
  /** The prefix of tokenpair's tables (MongoDB: collections). */
  readonly tablePrefix: string
}

/**
 * Tells a database URL, a handle of the app's and a ready Storage apart, and checks the table
 * prefix. Throws a {@link ConfigError} naming the option at fault.
 */
export function resolveDatabase(database: unknown, tablePrefix: string | undefined): ResolvedDatabase {
  const prefix = checkTablePrefix(tablePrefix ?? DEFAULT_TABLE_PREFIX, 'tablePrefix')
  if (typeof database === 'string') {
    return { storage: null, databaseUrl: database, databaseHandle: null, tablePrefix: prefix }
  }
  if (database === null || typeof database !== 'object') {
    throw new ConfigError(
      'database',
      'a database URL, a pg.Pool, a mysql2 pool, a better-sqlite3 Database, a Kysely instance or a Storage is required',
    )
  }
  if (kindOfDatabaseHandle(database, 'database') !== null) {
    return {
      storage: null,
      databaseUrl: null,
      databaseHandle: database as DatabaseHandle,
      tablePrefix: prefix,
    }
  }
  // A Storage was made with its tables named already: a prefix here would be silently ignored.
  if (prefix !== DEFAULT_TABLE_PREFIX) {
    throw new ConfigError(
      'tablePrefix',
      'a ready Storage names its own tables: give the prefix to the adapter that creates it',
    )
  }
  return { storage: database as Storage, databaseUrl: null, databaseHandle: null, tablePrefix: prefix }
}
