import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import { createDatabaseOn, findTestServer, runAdminSQL, type TestDatabase } from '../helpers/test-database.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * PostgreSQL goes away under a running server: connections are cut (pg_terminate_backend from an
 * admin connection) and new ones refused (ALLOW_CONNECTIONS false), or a connection dies in the
 * middle of a transaction. Requests must answer 503 unavailable, never 500, leave nothing half
 * written, and the server must recover by itself once the database is back.
 */
const serverUrl = await findTestServer('postgres')

describe.skipIf(serverUrl === null)('PostgreSQL going away', () => {
  let database: TestDatabase
  let name: string
  let app: TestServer
  let admin: pg.Client

  beforeAll(async () => {
    database = await createDatabaseOn(serverUrl!)
    name = new URL(database.url).pathname.slice(1)
    // Grace 0: a refresh token that a broken request had marked used would answer
    // refresh_token_reused on its next use, so a clean rollback is told apart from a half write.
    app = await startTestServer({ database: database.url, rateLimit: false, refreshReuseGrace: 0 })
    // On the administrative database, so that cutting the test database's connections spares it.
    admin = new pg.Client({ connectionString: serverUrl! })
    await admin.connect()
  })

  afterAll(async () => {
    await admin?.end()
    await runAdminSQL(serverUrl!, [`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`]).catch(() => {})
    await app?.close()
    await database?.drop()
  })

  /** Ends every connection of the server under test to its database. */
  async function cutConnections(): Promise<number> {
    const result = await admin.query(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    )
    return result.rows[0].n as number
  }

  /**
   * Waits (bounded) until a backend of the server under test waits on a lock; returns its pid and
   * statement. Asked on the admin connection outside any transaction: inside one, PostgreSQL
   * would answer from a snapshot of the statistics taken at its first read.
   */
  async function waitForBlockedBackend(): Promise<{ pid: number; query: string }> {
    for (let i = 0; i < 200; i++) {
      const result = await admin.query(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        [name],
      )
      if (result.rows.length > 0) return result.rows[0] as { pid: number; query: string }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error('no request reached the lock within 5 s')
  }

  async function openLocker(): Promise<pg.Client> {
    const locker = new pg.Client({ connectionString: database.url })
    await locker.connect()
    return locker
  }

  it('answers 503 unavailable while the database refuses connections, and recovers by itself', async () => {
    const user = await registerBearer(app.url)
    expect((await request(`${app.url}/readyz`)).status).toBe(200)

    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
    expect(await cutConnections()).toBeGreaterThan(0)

    const attempts = [
      await request(`${app.url}/auth/refresh`, {
        body: { refreshToken: user.refreshToken },
        headers: { 'x-auth-mode': 'bearer' },
      }),
      await request(`${app.url}/auth/login`, { body: { login: user.username, password: user.password } }),
      await request(`${app.url}/auth/register`, {
        body: {
          username: `${user.username}x`,
          email: `x${user.email}`,
          fullname: 'X',
          password: user.password,
        },
      }),
      await request(`${app.url}/auth/sessions`, { headers: { authorization: `Bearer ${user.accessToken}` } }),
    ]
    for (const res of attempts) {
      expect(res.status).toBe(503)
      expect(res.body.code).toBe('unavailable')
    }
    const ready = await request(`${app.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.body.code).toBe('unavailable')
    expect((await request(`${app.url}/healthz`)).status).toBe(200)

    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)

    // No restart: the pool opens new connections on the next request.
    expect((await request(`${app.url}/readyz`)).status).toBe(200)
    const refreshed = await request(`${app.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    // The outage did not burn the token: its first successful use is a plain rotation.
    expect(refreshed.status).toBe(200)
    const sessions = await app.auth.storage.listActiveSessions(user.id, Date.now())
    expect(sessions).toHaveLength(1)
    // Registration during the outage left no user behind.
    expect(await app.auth.storage.findUserByLogin(`${user.username}x`)).toBeNull()
  })

  it('leaves no half-written session when the connection dies inside a login', async () => {
    const user = await registerBearer(app.url)
    const locker = await openLocker()
    try {
      // The login's transaction inserts its session, then blocks on the token insert; we kill it there.
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE tp_refresh_tokens IN ACCESS EXCLUSIVE MODE')
      const login = request(`${app.url}/auth/login`, {
        body: { login: user.username, password: user.password },
      })
      const { pid, query } = await waitForBlockedBackend()
      expect(query).toMatch(/^insert into "tp_refresh_tokens"/)
      await locker.query('SELECT pg_terminate_backend($1)', [pid])
      const res = await login
      expect(res.status).toBe(503)
      expect(res.body.code).toBe('unavailable')
      await locker.query('ROLLBACK')
      const orphans = await locker.query(
        'SELECT count(*)::int AS n FROM tp_sessions s WHERE NOT EXISTS (SELECT 1 FROM tp_refresh_tokens t WHERE t.session_id = s.id)',
      )
      expect(orphans.rows[0].n).toBe(0)
    } finally {
      await locker.end()
    }
    expect(await app.auth.storage.listActiveSessions(user.id, Date.now())).toHaveLength(1)
    const again = await request(`${app.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    expect(again.status).toBe(200)
    expect(await app.auth.storage.listActiveSessions(user.id, Date.now())).toHaveLength(2)
  })

  it('rolls a rotation back when its connection dies before commit: the token stays unused', async () => {
    const user = await registerBearer(app.url)
    const locker = await openLocker()
    try {
      // Reads of tp_sessions pass, its UPDATE waits: the rotation's one statement (sql-rotation-cte.ts)
      // has marked the token used and inserted the child when it blocks on the session's UPDATE, and
      // dies there.
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE tp_sessions IN EXCLUSIVE MODE')
      const refresh = request(`${app.url}/auth/refresh`, {
        body: { refreshToken: user.refreshToken },
        headers: { 'x-auth-mode': 'bearer' },
      })
      const { pid, query } = await waitForBlockedBackend()
      expect(query).toMatch(/^with "won" as \(update "tp_refresh_tokens".*\) update "tp_sessions"/s)
      await locker.query('SELECT pg_terminate_backend($1)', [pid])
      const res = await refresh
      expect(res.status).toBe(503)
      expect(res.body.code).toBe('unavailable')
      await locker.query('ROLLBACK')
      const tokens = await locker.query(
        'SELECT count(*)::int AS n, count(used_at)::int AS used FROM tp_refresh_tokens t JOIN tp_sessions s ON s.id = t.session_id WHERE s.user_id = $1',
        [user.id],
      )
      expect(tokens.rows[0]).toEqual({ n: 1, used: 0 })
    } finally {
      await locker.end()
    }
    const retried = await request(`${app.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(retried.status).toBe(200)
  })
})
