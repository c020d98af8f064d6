import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeSession, makeToken, makeUser } from '../../src/testing/fixtures.js'
import { request } from '../helpers/http.js'
import { registerWithTOTP } from '../helpers/mfa.js'
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/test-server.js'
import { bundleCLI, createTempData, runCLI, type TempData } from './cli-process.js'

// Each case starts several Node processes: on a busy two-core machine they need more than 30 s.
describe('tokenpair CLI', { timeout: 90_000 }, () => {
  let data: TempData
  let server: TestServer

  let removeBundle: (() => void) | undefined

  beforeAll(async () => {
    removeBundle = await bundleCLI()
    data = createTempData()
    // A server on the same SQLite file as the CLI processes, as an operator would run them.
    server = await startTestServer({ database: data.databaseUrl })
  })
  afterAll(async () => {
    await server?.close()
    data?.remove()
    removeBundle?.()
  })

  it('prints help with exit 0, and usage errors with exit 2', async () => {
    const helps = [['--help'], ['keys', '--help'], ['users', 'create', '--help']]
    const usages = [['frobnicate'], ['keys', 'list', '--bogus'], ['users', 'disable']]
    // In parallel: each run starts a Node process, and these touch nothing shared.
    const [helpResults, usageResults] = await Promise.all([
      Promise.all(helps.map((args) => runCLI(args, data.env))),
      Promise.all(usages.map((args) => runCLI(args, data.env))),
    ])
    helpResults.forEach((res, i) => {
      expect(res.code, helps[i]!.join(' ')).toBe(0)
      expect(res.stdout).toMatch(/^Usage: tokenpair/)
    })
    expect(helpResults[0]!.stdout).toContain('revoke')
    usageResults.forEach((res, i) => {
      expect(res.code, usages[i]!.join(' ')).toBe(2)
      expect(res.stderr).toContain('Usage: tokenpair')
    })
  })

  it('stops with exit 2 and one line naming a wrong setting', async () => {
    const res = await runCLI(['keys', 'list'], { ...data.env, JWT_ALG: 'none' })
    expect(res.code).toBe(2)
    expect(res.stderr).toContain('JWT_ALG')
  })

  it('checks the option rules at start too, naming the variable rather than the option', async () => {
    const wrong = [
      [{ ACCESS_TOKEN_TTL: '0s' }, 'ACCESS_TOKEN_TTL: must be at least 1000 ms'],
      [{ COOKIE_PREFIX: 'host', COOKIE_SECURE: 'false' }, 'COOKIE_PREFIX: host needs Secure cookies'],
      [
        { DATABASE_URL: 'sqlite://./data/x.db' },
        'DATABASE_URL: write sqlite: and a path (sqlite:./data/tokenpair.db, sqlite:/var/lib/tokenpair/auth.db), not sqlite://',
      ],
      [{ DATABASE_URL: 'sqlite:./docs' }, 'DATABASE_URL: ./docs is a folder, not a database file'],
      [
        { DATABASE_URL: 'sqlite:./README.md/x.db' },
        'DATABASE_URL: README.md is not a folder, so ./README.md/x.db cannot be created',
      ],
    ] as const
    const results = await Promise.all(wrong.map(([env]) => runCLI(['migrate'], { ...data.env, ...env })))
    results.forEach((res, i) => {
      expect(res.code, JSON.stringify(wrong[i]![0])).toBe(2)
      expect(res.stderr).toBe(`tokenpair: configuration error: ${wrong[i]![1]}\n`)
    })
  })

  it('sweep deletes expired rows and says how many, as JSON', async () => {
    const storage = server.auth.storage
    const long = Date.now() - 60 * 86_400_000
    const user = makeUser()
    await storage.createUser(user)
    const dead = makeSession(user.id, {}, long)
    await storage.createSession(dead, makeToken(dead.id, {}, long))
    const res = await runCLI(['sweep', '--json'], data.env)
    expect(res.code).toBe(0)
    const result = JSON.parse(res.stdout) as { sessions: number; refreshTokens: number; emailTokens: number }
    expect(Object.keys(result).sort()).toEqual([
      'emailTokens',
      'refreshTokens',
      'sealedSuccessors',
      'sessions',
    ])
    expect(result.sessions).toBeGreaterThanOrEqual(1)
    expect(result.refreshTokens).toBeGreaterThanOrEqual(1)
    expect(await storage.findSession(dead.id)).toBeNull()
  })

  it('migrate is idempotent', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await runCLI(['migrate', '--json'], data.env)
      expect(res.code).toBe(0)
      expect(JSON.parse(res.stdout)).toEqual({ migrated: true })
    }
  })

  it('creates a user from a password on stdin, who can then log in', async () => {
    const password = 'cli password 0123'
    const res = await runCLI(
      [
        'users',
        'create',
        '--username',
        'Ops_Admin',
        '--email',
        'ops@example.com',
        '--fullname',
        'Ops',
        '--role',
        'admin',
        '--password-stdin',
        '--json',
      ],
      data.env,
      `${password}\n`,
    )
    expect(res.code, res.stderr).toBe(0)
    const created = JSON.parse(res.stdout)
    expect(created).toMatchObject({ username: 'ops_admin', roles: ['user', 'admin'], disabledAt: null })
    expect(res.stdout).not.toContain(password)
    expect(res.stdout).not.toContain('argon2')
    const login = await request(`${server.url}/auth/login`, {
      body: { login: 'ops_admin', password },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(login.status).toBe(200)
    expect(login.body.data.user.roles).toEqual(['user', 'admin'])

    const duplicate = await runCLI(
      [
        'users',
        'create',
        '--username',
        'ops_admin',
        '--email',
        'x@example.com',
        '--fullname',
        'X',
        '--password-stdin',
      ],
      data.env,
      password,
    )
    expect(duplicate.code).toBe(1)
    const short = await runCLI(
      [
        'users',
        'create',
        '--username',
        'shorty',
        '--email',
        's@example.com',
        '--fullname',
        'S',
        '--password-stdin',
      ],
      data.env,
      'short',
    )
    expect(short.code).toBe(1)
    expect(short.stderr).toContain('password')
    const noStdin = await runCLI(
      ['users', 'create', '--username', 'a_b', '--email', 'a@b.io', '--fullname', 'A'],
      data.env,
    )
    expect(noStdin.code).toBe(2)
  })

  it('lists users as JSON, without password hashes', async () => {
    const res = await runCLI(['users', 'list', '--json', '--limit', '10'], data.env)
    expect(res.code).toBe(0)
    const users = JSON.parse(res.stdout) as Record<string, unknown>[]
    expect(users.map((u) => u.username)).toContain('ops_admin')
    expect(res.stdout).not.toContain('passwordHash')
    expect((await runCLI(['users', 'list', '--limit', 'many'], data.env)).code).toBe(2)
  })

  it('disable revokes every session and refuses logins; enable lets the user back in', async () => {
    const password = 'correct horse battery staple'
    const reg = await request<{ refreshToken: string; user: { id: string; username: string } }>(
      `${server.url}/auth/register`,
      {
        body: { username: 'victim_1', email: 'victim1@example.com', fullname: 'V', password },
        headers: { 'x-auth-mode': 'bearer' },
      },
    )
    expect(reg.status).toBe(201)
    const disabled = await runCLI(['users', 'disable', 'victim1@example.com', '--json'], data.env)
    expect(disabled.code, disabled.stderr).toBe(0)
    expect(JSON.parse(disabled.stdout)).toEqual({
      id: reg.body.data.user.id,
      disabled: true,
      revokedSessions: 1,
    })
    const session = await server.auth.storage.listActiveSessions(reg.body.data.user.id, Date.now())
    expect(session).toEqual([])
    const refresh = await request(`${server.url}/auth/refresh`, {
      body: { refreshToken: reg.body.data.refreshToken },
    })
    expect(refresh.body.code).toBe('invalid_refresh_token')
    const login = await request(`${server.url}/auth/login`, { body: { login: 'victim_1', password } })
    expect(login.body.code).toBe('invalid_credentials')

    expect((await runCLI(['users', 'enable', reg.body.data.user.id], data.env)).code).toBe(0)
    const again = await request(`${server.url}/auth/login`, { body: { login: 'victim_1', password } })
    expect(again.status).toBe(200)
    const revoke = await runCLI(['users', 'revoke-sessions', 'victim_1', '--json'], data.env)
    expect(JSON.parse(revoke.stdout).revokedSessions).toBe(1)
    expect((await runCLI(['users', 'disable', 'nobody_here'], data.env)).code).toBe(1)
  })

  it('mfa-reset removes TOTP and the recovery codes, signs the user out and logs the event', async () => {
    const user = await registerWithTOTP(server.url)
    const reset = await runCLI(['users', 'mfa-reset', user.username, '--json'], data.env)
    expect(reset.code, reset.stderr).toBe(0)
    expect(JSON.parse(reset.stdout)).toEqual({ id: user.id, totpRemoved: true, revokedSessions: 1 })
    expect(reset.stderr).toContain(`tokenpair: event mfa_reset (user ${user.id})`)
    expect(reset.stderr).toContain(
      `tokenpair: event session_revoked (user ${user.id}, reason admin, 1 session(s))`,
    )
    expect(await server.auth.storage.factors.findTOTPFactor(user.id)).toBeNull()
    expect(await server.auth.storage.factors.countRecoveryCodes(user.id)).toBe(0)
    const refresh = await request(`${server.url}/auth/refresh`, { body: { refreshToken: user.refreshToken } })
    expect(refresh.body.code).toBe('invalid_refresh_token')
    // The password alone signs in now: no code is asked for.
    const login = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    expect(login.status).toBe(200)
    const again = await runCLI(['users', 'mfa-reset', user.email], data.env)
    expect(again.stdout).toBe(`no TOTP to remove for ${user.username}; revoked 1 session(s)\n`)
    expect((await runCLI(['users', 'mfa-reset', 'nobody_here'], data.env)).code).toBe(1)
    expect((await runCLI(['users', 'mfa-reset'], data.env)).code).toBe(2)
  })

  it('keys list, rotate and retire', async () => {
    const before = JSON.parse((await runCLI(['keys', 'list', '--json'], data.env)).stdout) as {
      kid: string
      status: string
    }[]
    const current = before.find((k) => k.status === 'current')!
    expect(current.kid).toBe(server.auth.jwkSet().keys[0]!.kid)
    expect((await runCLI(['keys', 'retire', '--', current.kid], data.env)).code).toBe(1)

    const rotated = await runCLI(['keys', 'rotate', '--json'], data.env)
    expect(rotated.code, rotated.stderr).toBe(0)
    const { kid, previous } = JSON.parse(rotated.stdout)
    expect(previous).toBe(current.kid)
    const after = JSON.parse((await runCLI(['keys', 'list', '--json'], data.env)).stdout) as {
      kid: string
      status: string
    }[]
    expect(after.find((k) => k.kid === kid)?.status).toBe('current')
    expect(after.find((k) => k.kid === previous)?.status).toBe('verifying')

    expect((await runCLI(['keys', 'retire', '--json', '--', previous], data.env)).code).toBe(0)
    expect((await runCLI(['keys', 'retire', '--', previous], data.env)).code).toBe(1)
    expect((await runCLI(['keys', 'retire', 'no-such-kid'], data.env)).code).toBe(1)
    const last = JSON.parse((await runCLI(['keys', 'list', '--json'], data.env)).stdout) as {
      kid: string
      status: string
    }[]
    expect(last.find((k) => k.kid === previous)?.status).toBe('retired')
  })

  it('rotate refuses a secret that cannot open the current key', async () => {
    const res = await runCLI(['keys', 'rotate'], {
      ...data.env,
      AUTH_SECRET: 'another-secret-0123456789-abcdefghijklmnop',
    })
    expect(res.code).not.toBe(0)
    expect(res.stderr).toContain('AUTH_SECRET')
    expect(res.stderr).not.toContain('another-secret')
  })

  it('says which database it opened and where the secret came from', async () => {
    const res = await runCLI(['keys', 'rotate', '--json'], data.env)
    expect(res.code, res.stderr).toBe(0)
    expect(res.stderr).toContain(`tokenpair: database ${data.databaseUrl}\n`)
    expect(res.stderr).toContain('tokenpair: secret from AUTH_SECRET\n')
    expect(res.stderr).not.toContain(TEST_SECRET)
    const list = await runCLI(['users', 'list'], data.env)
    expect(list.stderr).toBe(`tokenpair: database ${data.databaseUrl}\n`)
  })

  it('never makes a secret for a database that already holds keys', async () => {
    const elsewhere = createTempData()
    try {
      const env: Record<string, string> = { ...data.env, DATA_DIR: elsewhere.dir }
      delete env.AUTH_SECRET
      const res = await runCLI(['keys', 'rotate'], env)
      expect(res.code).toBe(2)
      expect(res.stderr).toMatch(
        /AUTH_SECRET: not set, and .*auth-secret does not exist, but the database already holds signing keys/,
      )
      expect(existsSync(join(elsewhere.dir, 'auth-secret'))).toBe(false)
    } finally {
      elsewhere.remove()
    }
  })

  it('points at --password-stdin when given --password, and words every field problem alike', async () => {
    for (const args of [
      ['users', 'create', '--username', 'ada', '--password', 'x'],
      ['users', 'create', '--password=x'],
    ]) {
      const res = await runCLI(args, data.env)
      expect(res.code).toBe(2)
      expect(res.stderr).toContain('use --password-stdin, not --password')
    }
    const res = await runCLI(
      ['users', 'create', '--username', 'ab', '--email', 'nope', '--fullname', 'Ada', '--password-stdin'],
      data.env,
      'short',
    )
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(
      'invalid user: username must be 3 to 30 characters; email must be a valid email address; password must be 8 to 128 characters',
    )
  })
})
