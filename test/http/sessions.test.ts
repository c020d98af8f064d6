import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSetCookies, registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const sidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string

async function login(username: string, password: string, userAgent = 'test-agent') {
  const res = await request<{ accessToken: string; refreshToken: string }>(`${server.url}/auth/login`, {
    body: { login: username, password },
    headers: { 'x-auth-mode': 'bearer', 'user-agent': userAgent },
  })
  expect(res.status).toBe(200)
  return res.body.data
}

function refresh(refreshToken: string) {
  return request(`${server.url}/auth/refresh`, {
    body: { refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })
}

describe('GET /auth/me', () => {
  it('answers the user for a bearer token and for the access cookie', async () => {
    const user = await registerBearer(server.url)
    const viaHeader = await request(`${server.url}/auth/me`, { headers: bearer(user.accessToken) })
    expect(viaHeader.status).toBe(200)
    expect(viaHeader.body.data).toMatchObject({ id: user.id, username: user.username, email: user.email })
    expect(JSON.stringify(viaHeader.body)).not.toMatch(/passwordHash|argon2/)
    const viaCookie = await request(`${server.url}/auth/me`, {
      headers: { cookie: `accessToken=${user.accessToken}` },
    })
    expect(viaCookie.status).toBe(200)
  })

  it('answers missing_token with a bare challenge, invalid_token with an error challenge', async () => {
    const missing = await request(`${server.url}/auth/me`)
    expect(missing.status).toBe(401)
    expect(missing.body).toMatchObject({
      statusCode: 401,
      data: null,
      success: false,
      code: 'missing_token',
      errors: [],
    })
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    for (const header of ['Bearer garbage', 'Basic dXNlcjpwYXNz', 'Bearer ', 'Bearer a.b.c']) {
      const res = await request(`${server.url}/auth/me`, { headers: { authorization: header } })
      expect(res.status, header).toBe(401)
      expect(res.body.code).toBe('invalid_token')
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
  })
})

describe('sessions', () => {
  it('lists active sessions newest first with the current one marked, and revokes one', async () => {
    const user = await registerBearer(server.url)
    const second = await login(user.username, user.password, 'second-agent')
    const third = await login(user.username, user.password, 'third-agent')
    const list = await request<
      { id: string; current: boolean; userAgent: string; ip: string; createdAt: string }[]
    >(`${server.url}/auth/sessions`, { headers: bearer(second.accessToken) })
    expect(list.status).toBe(200)
    const ids = list.body.data.map((s) => s.id)
    expect(ids).toHaveLength(3)
    expect(new Set(ids)).toEqual(
      new Set([sidOf(user.accessToken), sidOf(second.accessToken), sidOf(third.accessToken)]),
    )
    const created = list.body.data.map((s) => Date.parse(s.createdAt))
    expect([...created].sort((a, b) => b - a)).toEqual(created)
    expect(list.body.data.filter((s) => s.current).map((s) => s.id)).toEqual([sidOf(second.accessToken)])
    expect(list.body.data.find((s) => s.id === sidOf(third.accessToken))).toMatchObject({
      userAgent: 'third-agent',
      ip: expect.stringMatching(/127\.0\.0\.1/),
    })
    expect(Object.keys(list.body.data[0]!).sort()).toEqual(
      ['bound', 'createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'].sort(),
    )

    const del = await request(`${server.url}/auth/sessions/${sidOf(third.accessToken)}`, {
      method: 'DELETE',
      headers: bearer(second.accessToken),
    })
    expect(del.status).toBe(200)
    expect((await refresh(third.refreshToken)).body.code).toBe('invalid_refresh_token')
    const after = await request<{ id: string }[]>(`${server.url}/auth/sessions`, {
      headers: bearer(second.accessToken),
    })
    expect(after.body.data.map((s) => s.id)).not.toContain(sidOf(third.accessToken))
    expect((await refresh(second.refreshToken)).status).toBe(200)
  })

  it("answers 404 for another user's session and an unknown one, and changes nothing", async () => {
    const alice = await registerBearer(server.url)
    const bob = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/sessions/${sidOf(bob.accessToken)}`, {
      method: 'DELETE',
      headers: bearer(alice.accessToken),
    })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
    expect((await refresh(bob.refreshToken)).status).toBe(200)
    const unknown = await request(`${server.url}/auth/sessions/no-such-session`, {
      method: 'DELETE',
      headers: bearer(alice.accessToken),
    })
    expect(unknown.status).toBe(404)
  })
})

describe('logout', () => {
  it('revokes the session of a body refresh token and clears both cookies', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/logout`, { body: { refreshToken: user.refreshToken } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ statusCode: 200, data: null, message: 'Logged out', success: true })
    const cookies = parseSetCookies(res.setCookies)
    expect(cookies.get('accessToken')).toMatchObject({ value: '', attributes: { path: '/' } })
    expect(cookies.get('refreshToken')).toMatchObject({ value: '', attributes: { path: '/auth' } })
    expect((await refresh(user.refreshToken)).body.code).toBe('invalid_refresh_token')
  })

  it("ends the session's access token on the account routes at once", async () => {
    const user = await registerBearer(server.url)
    expect((await request(`${server.url}/auth/me`, { headers: bearer(user.accessToken) })).status).toBe(200)
    await request(`${server.url}/auth/logout`, { body: { refreshToken: user.refreshToken } })
    for (const [method, path, body] of [
      ['GET', '/auth/me', undefined],
      ['GET', '/auth/sessions', undefined],
      ['PATCH', '/auth/me', { fullname: 'Thief' }],
      ['POST', '/auth/change-password', { currentPassword: user.password, newPassword: 'stolen password 1' }],
    ] as const) {
      const res = await request(`${server.url}${path}`, { method, body, headers: bearer(user.accessToken) })
      expect(res.status, `${method} ${path}`).toBe(401)
      expect(res.body.code).toBe('session_revoked')
    }
  })

  it('revokes the session of a bearer access token', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/logout`, {
      method: 'POST',
      headers: bearer(user.accessToken),
    })
    expect(res.status).toBe(200)
    expect((await refresh(user.refreshToken)).body.code).toBe('invalid_refresh_token')
  })

  it('answers 200 and clears cookies with a missing or unknown token', async () => {
    const none = await request(`${server.url}/auth/logout`, { method: 'POST' })
    expect(none.status).toBe(200)
    expect(parseSetCookies(none.setCookies).get('refreshToken')?.value).toBe('')
    const garbage = await request(`${server.url}/auth/logout`, { body: { refreshToken: 'not.a.token' } })
    expect(garbage.status).toBe(200)
  })

  it('refuses a cookie-borne logout from a foreign origin, and allows the own origin', async () => {
    const user = await registerBearer(server.url)
    const cookie = `refreshToken=${user.refreshToken}; accessToken=${user.accessToken}`
    const foreign = await request(`${server.url}/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: 'http://127.0.0.1:1' },
    })
    expect(foreign.status).toBe(403)
    expect(foreign.body.code).toBe('csrf_rejected')
    expect(foreign.setCookies).toEqual([])
    expect((await refresh(user.refreshToken)).status).toBe(200)

    const other = await registerBearer(server.url)
    const own = await request(`${server.url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${other.refreshToken}`, origin: server.url },
    })
    expect(own.status).toBe(200)
    expect((await refresh(other.refreshToken)).body.code).toBe('invalid_refresh_token')
  })

  it('refuses a logout with a bogus body token and the access cookie from no origin', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/logout`, {
      body: { refreshToken: 'x.y.z' },
      headers: { cookie: `accessToken=${user.accessToken}` },
    })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('csrf_rejected')
    expect((await refresh(user.refreshToken)).status).toBe(200)
  })

  it('logs out of every session, counting the current one', async () => {
    const user = await registerBearer(server.url)
    const second = await login(user.username, user.password)
    const bystander = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/logout-all`, {
      method: 'POST',
      headers: bearer(second.accessToken),
    })
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual({ revoked: 2 })
    expect(parseSetCookies(res.setCookies).get('accessToken')?.value).toBe('')
    expect((await refresh(user.refreshToken)).body.code).toBe('invalid_refresh_token')
    expect((await refresh(second.refreshToken)).body.code).toBe('invalid_refresh_token')
    expect((await refresh(bystander.refreshToken)).status).toBe(200)
    const missing = await request(`${server.url}/auth/logout-all`, { method: 'POST' })
    expect(missing.body.code).toBe('missing_token')
  })

  it('refuses a cookie-borne logout-all without an origin', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${server.url}/auth/logout-all`, {
      method: 'POST',
      headers: { cookie: `accessToken=${user.accessToken}` },
    })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('csrf_rejected')
    expect((await refresh(user.refreshToken)).status).toBe(200)
  })
})

describe('POST /auth/change-password', () => {
  it('checks the current password, sets the new one and revokes every other session', async () => {
    const user = await registerBearer(server.url)
    const other = await login(user.username, user.password)
    const wrong = await request(`${server.url}/auth/change-password`, {
      body: { currentPassword: 'not the password', newPassword: 'a brand new password' },
      headers: bearer(user.accessToken),
    })
    expect(wrong.status).toBe(401)
    expect(wrong.body.code).toBe('invalid_credentials')
    expect((await refresh(other.refreshToken)).status).toBe(200)

    const short = await request(`${server.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'short' },
      headers: bearer(user.accessToken),
    })
    expect(short.status).toBe(400)
    expect(short.body.errors?.map((e) => e.path)).toEqual(['newPassword'])

    const other2 = await login(user.username, user.password)
    const ok = await request(`${server.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'a brand new password' },
      headers: bearer(user.accessToken),
    })
    expect(ok.status).toBe(200)
    expect((await refresh(other2.refreshToken)).body.code).toBe('invalid_refresh_token')
    expect((await refresh(user.refreshToken)).status).toBe(200)
    const oldLogin = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    expect(oldLogin.status).toBe(401)
    const newLogin = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: 'a brand new password' },
    })
    expect(newLogin.status).toBe(200)
  })
})
