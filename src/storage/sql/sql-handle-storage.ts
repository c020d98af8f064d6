import {
  Kysely,
  MysqlAdapter,
  MysqlDialect,
  type MysqlPool,
  PostgresAdapter,
  PostgresDialect,
  SqliteAdapter,
} from 'kysely'
import { ConfigError } from '../../errors.js'
import type {
  DatabaseHandle,
  DatabaseHandleKind,
  MySQLPoolHandle,
  PostgresPoolHandle,
  SQLiteDatabaseHandle,
} from '../database-handle.js'
import type { Storage } from '../storage.js'
import { mysqlTraits } from './mysql-storage.js'
import { postgresTraits } from './postgres-storage.js'
import type { Database } from './schema.js'
import { SQLStorage } from './sql-storage.js'
import type { SQLTraits } from './sql-traits.js'
import { createSQLiteStorage, sqliteTraits } from './sqlite-storage.js'

/** Options of {@link createHandleStorage}. */
export interface HandleStorageOptions {
  /** The prefix of tokenpair's tables (checked). Default `tp_`. */
  tablePrefix?: string
  /** The setting a refused handle is reported under. Default `database`. */
  setting?: string
}

/** What a Kysely instance of the app's runs on, read from its dialect's adapter. */
function traitsOfKysely(db: Kysely<unknown>, setting: string): SQLTraits {
  const adapter = db.getExecutor().adapter
  // By name as well: the app's Kysely may be another copy of the package than ours.
  const name = adapter.constructor?.name
  if (adapter instanceof PostgresAdapter || name === 'PostgresAdapter') return postgresTraits
  if (adapter instanceof MysqlAdapter || name === 'MysqlAdapter') return mysqlTraits
  if (adapter instanceof SqliteAdapter || name === 'SqliteAdapter') return sqliteTraits
  throw new ConfigError(setting, 'a Kysely instance must be on PostgreSQL, MySQL/MariaDB or SQLite')
}

/*
 * No close: the handle is the app's, and Kysely's destroy() would end its pool. The storage's own
 * guard still answers `unavailable` once it is closed.
 */
const leaveOpen = async (): Promise<void> => {}

/**
 * A Storage on a database handle of the app's ({@link DatabaseHandle}, its kind from
 * `kindOfDatabaseHandle`). Closing it leaves the handle open; nothing of the handle's settings
 * changes (no type parsers, no listeners): a `pg.Pool` hands BIGINT back as text, which every
 * read converts. A `better-sqlite3` Database is opened again by its path in tokenpair's worker
 * thread; a Kysely instance is used without its plugins (a `CamelCasePlugin` would rename
 * tokenpair's columns), on its own driver, so that its transactions queue with the app's.
 *
 * @example
 * ```ts
 * const storage = await createHandleStorage(pool, 'postgres', { tablePrefix: 'auth_' })
 * ```
 */
export async function createHandleStorage(
  handle: DatabaseHandle,
  kind: DatabaseHandleKind,
  options: HandleStorageOptions = {},
): Promise<Storage> {
  const setting = options.setting ?? 'database'
  const tablePrefix = options.tablePrefix
  switch (kind) {
    case 'sqlite':
      return createSQLiteStorage({
        path: (handle as SQLiteDatabaseHandle).name,
        setting,
        ...(tablePrefix === undefined ? {} : { tablePrefix }),
      })
    case 'postgres': {
      const db = new Kysely<Database>({
        dialect: new PostgresDialect({ pool: handle as PostgresPoolHandle }),
      })
      return new SQLStorage({ db, traits: postgresTraits, tablePrefix, close: leaveOpen })
    }
    case 'mysql': {
      // A promise pool of mysql2/promise wraps the callback pool Kysely's driver needs.
      const wrapper = (handle as MySQLPoolHandle & { pool?: MysqlPool }).pool
      const pool = typeof wrapper?.getConnection === 'function' ? wrapper : (handle as MysqlPool)
      const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
      return new SQLStorage({ db, traits: mysqlTraits, tablePrefix, close: leaveOpen })
    }
    case 'kysely': {
      const app = handle as Kysely<unknown>
      const traits = traitsOfKysely(app, setting)
      const db = app.withoutPlugins() as unknown as Kysely<Database>
      return new SQLStorage({ db, traits, tablePrefix, close: leaveOpen })
    }
  }
}
