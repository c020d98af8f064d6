import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { AuthError, type SecurityEvent, type ValidationError } from '../../src/index.js'
import { claimsOf, newUser, registerBearer, request } from '../helpers/http.js'
import { loginForTicket, registerWithTOTP } from '../helpers/mfa.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* `auth.users` and `auth.sessions`, the app's server-side API, against the real router on every
 * database: what they change is what the HTTP routes then see. */

let server: TestServer
const events: SecurityEvent[] = []
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false, onEvent: (event) => void events.push(event) })
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  events.length = 0
})

const login = (name: string, password: string) =>
  request<{ accessToken: string; refreshToken: string; user: { roles: string[] } }>(
    `${server.url}/auth/login`,
    { body: { login: name, password }, headers: { 'x-auth-mode': 'bearer' } },
  )

async function expectCode(promise: Promise<unknown>, code: string): Promise<AuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AuthError)
  expect((error as AuthError).code).toBe(code)
  return error as AuthError
}

describe('auth.users', () => {
  it('creates a user who can log in, under the rules of registration', async () => {
    const { users } = server.auth
    const input = newUser({ username: ' Staff.One ', email: 'Staff.One@Example.com' })
    const created = await users.create({ ...input, roles: ['user', 'staff', 'staff'], emailVerified: true })
    expect(created).toMatchObject({
      username: 'staff.one',
      email: 'staff.one@example.com',
      roles: ['user', 'staff'],
      emailVerified: true,
      disabledAt: null,
    })
    expect(created).not.toHaveProperty('passwordHash')
    expect(events.map((e) => [e.type, e.userId])).toEqual([['user_registered', created.id]])
    const res = await login('staff.one', input.password)
    expect([res.status, res.body.data.user.roles]).toEqual([200, ['user', 'staff']])

    await expectCode(users.create({ ...newUser(), username: 'staff.one' }), 'username_taken')
    const weak = await expectCode(users.create(newUser({ password: 'password' })), 'validation_failed')
    expect((weak as ValidationError).errors).toEqual([
      { path: 'password', message: 'password is one of the most common passwords; choose another' },
    ])
    const bad = await expectCode(users.create({ ...newUser(), roles: ['Admin!'] }), 'validation_failed')
    expect((bad as ValidationError).errors.map((e) => e.path)).toEqual(['roles.0'])
  })

  it('finds by id, username or email in any case, and lists by pages', async () => {
    const { users } = server.auth
    const a = await registerBearer(server.url)
    const b = await registerBearer(server.url)
    for (const ref of [a.id, a.username, a.email.toUpperCase(), ` ${a.username} `]) {
      expect((await users.find(ref))?.id).toBe(a.id)
    }
    expect(await users.find('nobody_at_all')).toBeNull()
    expect(await users.find('')).toBeNull()
    const all = await users.list({ limit: 1000 })
    const ids = all.map((u) => u.id)
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id))
    const page = await users.list({ limit: 1, offset: ids.indexOf(b.id) })
    expect(page.map((u) => u.id)).toEqual([b.id])
    await expectCode(users.list({ limit: 1001 }), 'validation_failed')
    await expectCode(users.list({ offset: -1 }), 'validation_failed')
  })

  it('disables (ending every session and refusing logins), enables, and answers not_found for a stranger', async () => {
    const { users } = server.auth
    const user = await registerBearer(server.url)
    expect(await users.disable(user.id)).toEqual({ revokedSessions: 1 })
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'session_revoked',
        userId: user.id,
        reason: 'user_disabled',
        count: 1,
      }),
    )
    const refresh = await request(`${server.url}/auth/refresh`, { body: { refreshToken: user.refreshToken } })
    expect(refresh.body.code).toBe('invalid_refresh_token')
    expect((await login(user.username, user.password)).body.code).toBe('invalid_credentials')
    expect((await users.find(user.id))?.disabledAt).toEqual(expect.any(Number))
    await users.enable(user.id)
    expect((await login(user.username, user.password)).status).toBe(200)
    await expectCode(users.disable('no-such-user'), 'not_found')
    await expectCode(users.enable('no-such-user'), 'not_found')
  })

  it('sets roles, which the next refresh carries', async () => {
    const { users } = server.auth
    const user = await registerBearer(server.url)
    const updated = await users.setRoles(user.id, ['user', 'admin'])
    expect(updated.roles).toEqual(['user', 'admin'])
    const refreshed = await request<{ accessToken: string }>(`${server.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(claimsOf(refreshed.body.data.accessToken).roles).toEqual(['user', 'admin'])
    await expectCode(users.setRoles(user.id, []), 'validation_failed')
    await expectCode(users.setRoles('no-such-user', ['user']), 'not_found')
  })

  it('revokes every session of a user', async () => {
    const user = await registerBearer(server.url)
    await login(user.username, user.password)
    expect(await server.auth.users.revokeSessions(user.id)).toBe(2)
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'session_revoked', userId: user.id, reason: 'admin', count: 2 }),
    )
    expect(await server.auth.sessions.list(user.id)).toEqual([])
  })

  it('resets the second factor: TOTP and recovery codes go, the sessions end, a password login needs no code', async () => {
    const user = await registerWithTOTP(server.url)
    await loginForTicket(server.url, user)
    events.length = 0
    expect(await server.auth.users.resetMfa(user.id)).toEqual({ totp: true, revokedSessions: 1 })
    expect(events.map((e) => e.type)).toEqual(['session_revoked', 'mfa_reset'])
    expect(await server.auth.storage.factors.countRecoveryCodes(user.id)).toBe(0)
    const res = await login(user.username, user.password)
    expect(res.status).toBe(200)
    expect(res.body.data.user).toMatchObject({ mfa: { totp: false, passkeys: 0 } })
    expect(await server.auth.users.resetMfa(user.id)).toEqual({ totp: false, revokedSessions: 1 })
  })
})

describe('auth.sessions', () => {
  it("lists a user's live sessions and revokes one, which its refresh token then feels", async () => {
    const user = await registerBearer(server.url)
    const second = await login(user.username, user.password)
    const sessions = await server.auth.sessions.list(user.id)
    expect(sessions).toHaveLength(2)
    const first = sessions.find((s) => s.id === claimsOf(user.accessToken).sid)!
    events.length = 0
    expect(await server.auth.sessions.revoke(first.id)).toBe(true)
    expect(events).toEqual([
      expect.objectContaining({
        type: 'session_revoked',
        userId: user.id,
        sessionId: first.id,
        reason: 'admin',
      }),
    ])
    expect(await server.auth.sessions.revoke(first.id)).toBe(false)
    expect(await server.auth.sessions.revoke('no-such-session')).toBe(false)
    const refresh = await request(`${server.url}/auth/refresh`, { body: { refreshToken: user.refreshToken } })
    expect(refresh.body.code).toBe('invalid_refresh_token')
    const other = await request(`${server.url}/auth/refresh`, {
      body: { refreshToken: second.body.data.refreshToken },
    })
    expect(other.status).toBe(200)
  })
})
