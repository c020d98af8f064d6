import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createMySQLStorage } from '../../src/storage/sql/mysql-storage.js'
import { createPostgresStorage } from '../../src/storage/sql/postgres-storage.js'
import type { SQLStorage } from '../../src/storage/sql/sql-storage.js'
import { createSQLiteStorage } from '../../src/storage/sql/sqlite-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { makeUser } from '../../src/testing/fixtures.js'
import { createDatabaseOn, findTestServer, type TestDatabase } from '../helpers/test-database.js'

/*
 * Two tokenpairs in one database, `tp_` and `x_`: their tables, indexes (PostgreSQL and SQLite
 * name indexes per database, not per table), constraints and migration bookkeeping never meet.
 */

type Open = (tablePrefix: string | undefined) => Promise<Storage>

/** The names of every table and index of the database the storage is on. */
async function namesOf(storage: Storage, dialect: 'sqlite' | 'postgres' | 'mysql'): Promise<string[]> {
  const db = (storage as SQLStorage).db
  const query =
    dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where name not like 'sqlite_%'`
      : dialect === 'postgres'
        ? sql<{ name: string }>`select relname as name from pg_class
            where relnamespace = 'public'::regnamespace and relkind in ('r', 'i')`
        : sql<{ name: string }>`select table_name as name from information_schema.tables
            where table_schema = database()
            union select concat(table_name, '.', index_name) from information_schema.statistics
            where table_schema = database()`
  return (await query.execute(db)).rows.map((row) => row.name).sort()
}

function describeTwoPrefixes(dialect: 'sqlite' | 'postgres' | 'mysql', open: () => Open): void {
  it('migrates x_ beside tp_ (in either order, twice) without a collision', async () => {
    const tp = await open()(undefined)
    const x = await open()('x_')
    try {
      await tp.migrate()
      await x.migrate()
      await tp.migrate()
      await x.migrate()
      const names = await namesOf(tp, dialect)
      // Names without the prefix (MySQL's are `table.index`, both parts prefixed).
      const ours = (prefix: string) =>
        names
          .filter((n) => n.startsWith(prefix))
          .map((n) =>
            n
              .split('.')
              .map((part) => (part.startsWith(prefix) ? part.slice(prefix.length) : part))
              .join('.'),
          )
          .sort()
      // The same set of tables and indexes under each prefix, and nothing else.
      expect(ours('x_').length).toBeGreaterThan(20)
      expect(ours('x_')).toEqual(ours('tp_'))
      expect(names.filter((n) => !n.startsWith('x_') && !n.startsWith('tp_'))).toEqual([])
      expect(ours('x_')).toEqual(expect.arrayContaining(['migrations', 'migrations_lock', 'users']))
      const done = (prefix: string) =>
        sql<{ name: string }>`select name from ${sql.table(`${prefix}migrations`)} order by name`
          .execute((tp as SQLStorage).db)
          .then((r) => r.rows.map((row) => row.name))
      expect(await done('x_')).toEqual(await done('tp_'))

      // One user, the same id, name and address in both: each prefix's unique keys are its own.
      const user = makeUser()
      await tp.createUser(user)
      await x.createUser(user)
      await expect(x.createUser({ ...user, id: 'other', email: 'other@example.com' })).rejects.toMatchObject({
        code: 'username_taken',
      })
      await x.updateUser(user.id, { fullname: 'Only under x_' }, Date.now())
      expect((await x.findUserById(user.id))?.fullname).toBe('Only under x_')
      expect((await tp.findUserById(user.id))?.fullname).toBe(user.fullname)
    } finally {
      await x.close()
      await tp.close()
    }
  })
}

describe('two table prefixes in one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-prefix-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  describeTwoPrefixes(
    'sqlite',
    () => (tablePrefix) => createSQLiteStorage({ path: join(dir, 'two.db'), tablePrefix }),
  )
})

for (const [kind, dialect] of [
  ['postgres', 'postgres'],
  ['mysql', 'mysql'],
] as const) {
  const server = await findTestServer(kind)
  describe.skipIf(server === null)(`two table prefixes in one ${kind} database`, () => {
    let database: TestDatabase
    afterAll(async () => {
      await database?.drop()
    })
    const create = kind === 'postgres' ? createPostgresStorage : createMySQLStorage
    describeTwoPrefixes(dialect, () => async (tablePrefix) => {
      database ??= await createDatabaseOn(server!)
      return create({ url: database.url, tablePrefix })
    })
  })
}
