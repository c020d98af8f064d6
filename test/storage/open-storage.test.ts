import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthError, ConfigError } from '../../src/errors.js'
import { openStorage } from '../../src/storage/open-storage.js'
import { resolvePoolOptions } from '../../src/storage/sql/pool-options.js'
import { SQLStorage } from '../../src/storage/sql/sql-storage.js'
import { checkSQLitePath } from '../../src/storage/sql/sqlite-path.js'
import { createDatabaseOn, findTestServer, type TestDatabase } from '../helpers/test-database.js'

describe('openStorage: SQLite paths that cannot be right', () => {
  it('refuses each with one line naming DATABASE_URL, and creates nothing', async () => {
    for (const [url, pattern] of [
      ['sqlite://./data/x.db', /write sqlite: and a path .*not sqlite:\/\//],
      [
        'sqlite:/nonexistent-tokenpair/dir/x.db',
        /the folder \/nonexistent-tokenpair\/dir does not exist: create it first/,
      ],
      ['sqlite:./README.md/x.db', /README\.md is not a folder/],
      ['sqlite:./docs', /\.\/docs is a folder, not a database file/],
      ['sqlite:/proc/tokenpair-x/y.db', /the folder \/proc\/tokenpair-x does not exist/],
    ] as const) {
      const error = await openStorage(url).then(
        () => null,
        (e: unknown) => e,
      )
      expect(error, url).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).setting).toBe('DATABASE_URL')
      expect((error as Error).message).toMatch(pattern)
    }
    expect(existsSync('/nonexistent-tokenpair')).toBe(false)
    expect(existsSync('/data/x.db')).toBe(false)
  })

  it('creates a missing folder inside the working folder only', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tokenpair-cwd-'))
    try {
      expect(checkSQLitePath('./data/nested/auth.db', 'DATABASE_URL', cwd)).toEqual({
        file: join(cwd, 'data/nested/auth.db'),
        createFolder: join(cwd, 'data/nested'),
      })
      expect(checkSQLitePath(join(cwd, 'auth.db'), 'DATABASE_URL', cwd).createFolder).toBeNull()
      expect(() => checkSQLitePath('../elsewhere/auth.db', 'DATABASE_URL', cwd)).toThrow(/create it first/)
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})

describe('openStorage: URLs and pool settings', () => {
  it('reads pool settings from the URL, options winning, and leaves other parameters to the driver', () => {
    const { url, pool } = resolvePoolOptions(
      'postgres://u:p@db:5432/app?max=3&sslmode=disable&connectTimeoutMs=700',
      {
        max: 4,
      },
    )
    expect(pool).toEqual({ max: 4, idleTimeoutMs: 30_000, connectTimeoutMs: 700 })
    expect(url).toBe('postgres://u:p@db:5432/app?sslmode=disable')
    expect(resolvePoolOptions('mysql://db/app').pool).toEqual({
      max: 10,
      idleTimeoutMs: 30_000,
      connectTimeoutMs: 5000,
    })
  })

  it('refuses a bad pool setting or scheme naming DATABASE_URL, never echoing the password', async () => {
    for (const [url, pattern] of [
      ['postgres://u:hunter2-secret@db/app?max=lots', /max must be a whole number/],
      ['postgres://u:hunter2-secret@db/app?max=0', /max must be a whole number/],
      ['redis://u:hunter2-secret@db/0', /unsupported database URL scheme: redis$/],
      ['u:hunter2-secret@db/app', /unsupported database URL scheme/],
    ] as const) {
      const error = await openStorage(url).then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).setting).toBe('DATABASE_URL')
      expect((error as Error).message).toMatch(pattern)
      expect((error as Error).message).not.toContain('hunter2')
    }
  })

  it('answers unavailable, quickly, when the server cannot be reached', async () => {
    for (const url of [
      'postgres://u:p@127.0.0.1:1/app?connectTimeoutMs=1000',
      'mysql://u:p@127.0.0.1:1/app',
      // No MongoDB server here, but an unreachable one is the same on every machine.
      'mongodb://127.0.0.1:1/app?serverSelectionTimeoutMS=500',
    ]) {
      const storage = await openStorage(url)
      try {
        const started = Date.now()
        await expect(storage.migrate()).rejects.toSatisfy(
          (e: unknown) => e instanceof AuthError && e.code === 'unavailable',
        )
        await expect(storage.ping()).rejects.toBeInstanceOf(AuthError)
        expect(Date.now() - started).toBeLessThan(5000)
      } finally {
        await storage.close()
      }
    }
  })
})

const postgres = await findTestServer('postgres')

describe.skipIf(postgres === null)('openStorage: PostgreSQL pool', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createDatabaseOn(postgres!)
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('opens at most `max` connections and parses BIGINT for its own pool only', async () => {
    const storage = await openStorage(`${database.url}?max=2&application_name=tp_pool_probe`)
    const admin = new pg.Client({ connectionString: postgres! })
    await admin.connect()
    try {
      await storage.migrate()
      expect(storage).toBeInstanceOf(SQLStorage)
      // Hold every connection busy at once: the pool must queue rather than open more.
      const db = (storage as SQLStorage).db
      const busy = Array.from({ length: 6 }, () => sql`select pg_sleep(0.2)`.execute(db))
      let most = 0
      for (let i = 0; i < 10; i++) {
        const { rows } = await admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tp_pool_probe'",
        )
        most = Math.max(most, rows[0].n as number)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await Promise.all(busy)
      expect(most).toBe(2)

      const { rows: ours } = await sql<{ big: unknown }>`select 1800000000123::int8 as big`.execute(db)
      expect(ours[0]?.big).toBe(1_800_000_000_123)
      // The process-wide parser of int8 is untouched: other pg users still get strings.
      const { rows } = await admin.query('SELECT 9007199254740993::int8 AS big')
      expect(rows[0].big).toBe('9007199254740993')
    } finally {
      await admin.end()
      await storage.close()
    }
  })
})
