import { ConfigError } from '../errors.js'
import { createSQLiteStorage } from './sql/sqlite-storage.js'
import type { Storage } from './storage.js'

/**
 * Opens the Storage a database URL names: `sqlite:PATH`, `sqlite::memory:` (more schemes as their
 * adapters land). Does not migrate.
 */
export async function openStorage(url: string): Promise<Storage> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length)
    if (path === '')
      throw new ConfigError('DATABASE_URL', 'sqlite: needs a path, e.g. sqlite:./data/tokenpair.db')
    return createSQLiteStorage({ path })
  }
  throw new ConfigError('DATABASE_URL', `unsupported database URL scheme: ${url.split(':')[0] ?? ''}`)
}
