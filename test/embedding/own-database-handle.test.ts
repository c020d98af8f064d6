import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CamelCasePlugin, Kysely, SqliteDialect, sql } from 'kysely'
import mysql from 'mysql2'
import mysqlPromise from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuth } from '../../src/auth.js'
import { ConfigError } from '../../src/errors.js'
import { registerBearer, request } from '../helpers/http.js'
import { createDatabaseOn, findTestServer, type TestDatabase } from '../helpers/test-database.js'
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/test-server.js'

/*
 * tokenpair on a database handle the app owns (`database: pool`), with a table prefix, beside the
 * app's own table in the same database: through the real router, and the handle still the app's
 * after auth.close().
 */

/** Register, log in, refresh and read /auth/me: every kind of statement the router makes. */
async function signUpAndUse(server: TestServer): Promise<{ id: string; username: string }> {
  const user = await registerBearer(server.url)
  const bearer = { 'x-auth-mode': 'bearer' }
  const login = await request(`${server.url}/auth/login`, {
    body: { login: user.username, password: user.password },
    headers: bearer,
  })
  expect(login.status).toBe(200)
  const refreshed = await request(`${server.url}/auth/refresh`, {
    body: { refreshToken: login.body.data.refreshToken },
    headers: bearer,
  })
  expect(refreshed.status).toBe(200)
  const me = await request(`${server.url}/auth/me`, {
    headers: { authorization: `Bearer ${refreshed.body.data.accessToken}` },
  })
  expect(me.status).toBe(200)
  expect(me.body.data.username).toBe(user.username)
  return { id: user.id, username: user.username }
}

const options = { rateLimit: false as const }

describe('a better-sqlite3 Database of the app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-handle-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('holds tokenpair under its prefix beside the app table, and stays open after close()', async () => {
    const db = new Database(join(dir, 'app.db'))
    db.exec('create table users (id integer primary key, auth_user_id text not null, nickname text)')
    const server = await startTestServer({ ...options, database: db, tablePrefix: 'auth_' })
    const user = await signUpAndUse(server)
    db.prepare('insert into users (auth_user_id, nickname) values (?, ?)').run(user.id, 'neo')
    // The app reads tokenpair's rows through its own handle: one database, two sets of tables.
    const joined = db
      .prepare('select u.nickname, a.username from users u join auth_users a on a.id = u.auth_user_id')
      .all()
    expect(joined).toEqual([{ nickname: 'neo', username: user.username }])
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
      .pluck()
      .all() as string[]
    expect(tables).toContain('auth_migrations')
    expect(tables.filter((name) => name.startsWith('tp_'))).toEqual([])
    await server.close()
    expect(db.open).toBe(true)
    expect(db.prepare('select count(*) from users').pluck().get()).toBe(1)
    db.close()
  })

  it('refuses an in-memory handle, which its worker thread cannot open', async () => {
    const db = new Database(':memory:')
    const error = await createAuth({ database: db, secret: TEST_SECRET }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).setting).toBe('database')
    expect((error as Error).message).toMatch(/in-memory better-sqlite3 Database cannot be shared/)
    expect(db.open).toBe(true)
    db.close()
  })
})

describe('a Kysely instance of the app', () => {
  it('runs without the instance’s plugins, and leaves it usable after close()', async () => {
    // CamelCasePlugin would rename tokenpair's snake_case columns in every row it reads.
    const app = new Kysely<{ notes: { id: number; ownerId: string } }>({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
      plugins: [new CamelCasePlugin()],
    })
    await app.schema
      .createTable('notes')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('ownerId', 'text')
      .execute()
    const server = await startTestServer({ ...options, database: app, tablePrefix: 'auth_' })
    const user = await signUpAndUse(server)
    await app.insertInto('notes').values({ id: 1, ownerId: user.id }).execute()
    await server.close()
    const rows = await sql<{ owner_id: string; username: string }>`
      select n.owner_id, a.username from notes n join auth_users a on a.id = n.owner_id`.execute(
      app.withoutPlugins(),
    )
    expect(rows.rows).toEqual([{ owner_id: user.id, username: user.username }])
    await app.destroy()
  })
})

const postgres = await findTestServer('postgres')
describe.skipIf(postgres === null)('a pg.Pool of the app', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createDatabaseOn(postgres!)
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('holds tokenpair under its prefix beside the app table, and stays open after close()', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 5 })
    pool.on('error', () => {})
    await pool.query('create table users (id serial primary key, auth_user_id varchar(64), nickname text)')
    const server = await startTestServer({ ...options, database: pool, tablePrefix: 'auth_' })
    const user = await signUpAndUse(server)
    await pool.query('insert into users (auth_user_id, nickname) values ($1, $2)', [user.id, 'neo'])
    const joined = await pool.query(
      'select u.nickname, a.username from users u join auth_users a on a.id = u.auth_user_id',
    )
    expect(joined.rows).toEqual([{ nickname: 'neo', username: user.username }])
    const tables = await pool.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public'",
    )
    const names = tables.rows.map((r) => r.name)
    expect(names).toEqual(expect.arrayContaining(['users', 'auth_users', 'auth_sessions', 'auth_migrations']))
    expect(names.filter((name) => name.startsWith('tp_'))).toEqual([])
    await server.close()
    expect(pool.ended).toBe(false)
    expect((await pool.query('select count(*)::int as n from users')).rows[0].n).toBe(1)
    await pool.end()
  })

  it('refuses a pg.Client, which is no pool', async () => {
    const client = new pg.Client({ connectionString: database.url })
    const error = await createAuth({ database: client as never, secret: TEST_SECRET }).catch((e) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(/pg\.Client cannot be shared: pass a pg\.Pool/)
  })
})

const mariadb = await findTestServer('mysql')
describe.skipIf(mariadb === null)('a mysql2 pool of the app (MariaDB)', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createDatabaseOn(mariadb!)
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('runs on a promise pool beside the app table, and leaves it open after close()', async () => {
    const pool = mysqlPromise.createPool({ uri: database.url, connectionLimit: 5 })
    await pool.query('create table users (id int auto_increment primary key, auth_user_id varchar(64))')
    const server = await startTestServer({ ...options, database: pool, tablePrefix: 'auth_' })
    const user = await signUpAndUse(server)
    await pool.query('insert into users (auth_user_id) values (?)', [user.id])
    const [joined] = await pool.query(
      'select a.username from users u join auth_users a on a.id = u.auth_user_id',
    )
    expect(joined).toEqual([{ username: user.username }])
    await server.close()
    const [count] = await pool.query('select count(*) as n from users')
    expect(count).toEqual([{ n: 1 }])
    await pool.end()
  })

  it('runs on a callback pool under another prefix in the same database', async () => {
    const pool = mysql.createPool({ uri: database.url, connectionLimit: 5 })
    const server = await startTestServer({ ...options, database: pool, tablePrefix: 'cb_' })
    const user = await signUpAndUse(server)
    await server.close()
    const [rows] = await pool.promise().query('select username from cb_users')
    expect(rows).toEqual([{ username: user.username }])
    await pool.promise().end()
  })
})
