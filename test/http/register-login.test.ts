import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newUser, parseSetCookies, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

describe('field problems', () => {
  it('are worded in one style: "<field> is required", "<field> must be …", "<field> is not allowed"', async () => {
    const missing = await request(`${server.url}/auth/register`, {
      body: { username: 'someone_new', fullname: 'Some One', password: 'long enough password' },
    })
    expect(missing.body.errors).toEqual([{ path: 'email', message: 'email is required' }])
    const mistyped = await request(`${server.url}/auth/register`, { body: { ...newUser(), email: 42 } })
    expect(mistyped.body.errors).toEqual([{ path: 'email', message: 'email must be a string' }])
    const user = await request<{ accessToken: string }>(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer' },
    })
    const extra = await request(`${server.url}/auth/me`, {
      method: 'PATCH',
      body: { fullname: 'Renamed', roles: ['admin'] },
      headers: { authorization: `Bearer ${user.body.data.accessToken}` },
    })
    expect([extra.status, extra.body.code]).toEqual([400, 'validation_failed'])
    expect(extra.body.errors).toEqual([{ path: 'roles', message: 'roles is not allowed' }])
  })
})

describe('POST /auth/register', () => {
  it('creates the user, logs them in and answers the token response with both cookies', async () => {
    const body = newUser({
      username: '  Mixed.Case_Name ',
      email: ' Someone.X@Example.COM ',
      fullname: '  Ada  Lovelace ',
    })
    const res = await request(`${server.url}/auth/register`, { body })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ statusCode: 201, success: true, message: expect.any(String) })
    const data = res.body.data
    expect(data.user).toEqual({
      id: expect.any(String),
      username: 'mixed.case_name',
      email: 'someone.x@example.com',
      fullname: 'Ada  Lovelace',
      roles: ['user'],
      emailVerified: false,
      mfa: { totp: false, passkeys: 0 },
      metadata: {},
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    })
    expect(JSON.stringify(res.body)).not.toMatch(/password|argon2/i)
    expect(data.tokenType).toBe('Bearer')
    expect(data.expiresIn).toBe(900)
    expect(typeof data.accessToken).toBe('string')
    expect(typeof data.refreshToken).toBe('string')
    expect(Date.parse(data.accessTokenExpiresAt)).toBeGreaterThan(Date.now())
    expect(Date.parse(data.refreshTokenExpiresAt)).toBeGreaterThan(Date.parse(data.accessTokenExpiresAt))
    expect(res.headers.get('cache-control')).toBe('no-store')

    const cookies = parseSetCookies(res.setCookies)
    const access = cookies.get('accessToken')!
    const refresh = cookies.get('refreshToken')!
    expect(access.value).toBe(data.accessToken)
    expect(refresh.value).toBe(data.refreshToken)
    const refreshLifetime = Math.round((Date.parse(data.refreshTokenExpiresAt) - Date.now()) / 1000)
    for (const cookie of [access, refresh]) {
      expect(cookie.attributes.httponly).toBe(true)
      expect(cookie.attributes.secure).toBe(true)
      expect(Math.abs(Number(cookie.attributes['max-age']) - refreshLifetime)).toBeLessThanOrEqual(2)
    }
    expect(access.attributes.samesite).toBe('Lax')
    expect(access.attributes.path).toBe('/')
    expect(refresh.attributes.samesite).toBe('Strict')
    expect(refresh.attributes.path).toBe('/auth')
  })

  it('sets cookies only in cookie mode, body tokens only in bearer mode', async () => {
    const cookieMode = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'cookie' },
    })
    expect(cookieMode.status).toBe(201)
    expect(cookieMode.body.data.accessToken).toBeUndefined()
    expect(cookieMode.body.data.refreshToken).toBeUndefined()
    expect(cookieMode.body.data.accessTokenExpiresAt).toEqual(expect.any(String))
    expect([...parseSetCookies(cookieMode.setCookies).keys()].sort()).toEqual(['accessToken', 'refreshToken'])

    const bearerMode = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(bearerMode.status).toBe(201)
    expect(bearerMode.setCookies).toEqual([])
    expect(typeof bearerMode.body.data.refreshToken).toBe('string')

    const unknown = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'both' },
    })
    expect(unknown.status).toBe(400)
    expect(unknown.body.code).toBe('validation_failed')
  })

  it('refuses a taken username or email whatever its case, with 409 and no new row', async () => {
    const first = newUser()
    expect((await request(`${server.url}/auth/register`, { body: first })).status).toBe(201)
    const sameName = await request(`${server.url}/auth/register`, {
      body: newUser({ username: first.username.toUpperCase() }),
    })
    expect(sameName.status).toBe(409)
    expect(sameName.body.code).toBe('username_taken')
    const sameEmail = await request(`${server.url}/auth/register`, {
      body: newUser({ email: first.email.toUpperCase() }),
    })
    expect(sameEmail.status).toBe(409)
    expect(sameEmail.body.code).toBe('email_taken')
    expect(sameEmail.setCookies).toEqual([])
  })

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a short username', { username: 'ab' }, 'username'],
    ['a long username', { username: 'a'.repeat(31) }, 'username'],
    ['a username with a space', { username: 'two words' }, 'username'],
    ['a username with unicode', { username: 'jürgen' }, 'username'],
    ['a username that is a number', { username: 12345 }, 'username'],
    ['a bad email', { email: 'not-an-email' }, 'email'],
    [
      'an email over 254 characters',
      { email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com` },
      'email',
    ],
    ['an empty fullname', { fullname: '   ' }, 'fullname'],
    ['a fullname over 100 characters', { fullname: 'x'.repeat(101) }, 'fullname'],
    ['a short password', { password: 'seven77' }, 'password'],
    ['a password over 128 characters', { password: 'p'.repeat(129) }, 'password'],
    ['a password that is not a string', { password: 12345678 }, 'password'],
    ['a missing field', { fullname: undefined }, 'fullname'],
  ]
  it.each(invalid)('answers validation_failed for %s', async (_label, overrides, path) => {
    const res = await request(`${server.url}/auth/register`, { body: newUser(overrides) })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
    expect(res.body.errors?.map((e) => e.path)).toContain(path)
    expect(res.setCookies).toEqual([])
  })

  it('takes the password exactly as sent: spaces count, nothing is trimmed', async () => {
    const user = newUser({ password: '  spaced password  ' })
    expect((await request(`${server.url}/auth/register`, { body: user })).status).toBe(201)
    const trimmed = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: 'spaced password' },
    })
    expect(trimmed.status).toBe(401)
    const exact = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    expect(exact.status).toBe(200)
  })

  it('answers validation_failed for a body that is JSON but not an object', async () => {
    for (const raw of ['[]', '"text"', '42', 'null']) {
      const res = await request(`${server.url}/auth/register`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status).toBe(400)
      expect(res.body.code).toBe('validation_failed')
    }
  })
})

describe('POST /auth/login', () => {
  const user = newUser()
  beforeAll(async () => {
    await request(`${server.url}/auth/register`, { body: user })
  })

  it.each([
    ['login with the username', () => ({ login: user.username })],
    ['login with the email in capitals', () => ({ login: user.email.toUpperCase() })],
    ['the username field', () => ({ username: ` ${user.username} ` })],
    ['the email field', () => ({ email: user.email })],
  ])('logs in by %s', async (_label, fields) => {
    const res = await request(`${server.url}/auth/login`, { body: { ...fields(), password: user.password } })
    expect(res.status).toBe(200)
    expect(res.body.message).toBe('Logged in')
    expect(res.body.data.user.username).toBe(user.username)
    expect(parseSetCookies(res.setCookies).has('refreshToken')).toBe(true)
  })

  it('answers an unknown user and a wrong password alike', async () => {
    const wrong = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: 'wrong password!' },
    })
    const unknown = await request(`${server.url}/auth/login`, {
      body: { login: 'nobody_here', password: 'wrong password!' },
    })
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_credentials')
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
      expect(res.setCookies).toEqual([])
    }
    expect(unknown.body).toEqual(wrong.body)
  })

  it('answers validation_failed without a login name or password', async () => {
    const noLogin = await request(`${server.url}/auth/login`, { body: { password: 'whatever1' } })
    expect(noLogin.status).toBe(400)
    expect(noLogin.body.errors?.map((e) => e.path)).toContain('login')
    const noPassword = await request(`${server.url}/auth/login`, { body: { login: user.username } })
    expect(noPassword.status).toBe(400)
    expect(noPassword.body.errors?.map((e) => e.path)).toContain('password')
    const empty = await request(`${server.url}/auth/login`, { method: 'POST' })
    expect(empty.status).toBe(400)
    expect(empty.body.code).toBe('validation_failed')
  })

  it('opens a new session for every login', async () => {
    const a = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    const b = await request(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    const sessions = await request<{ id: string }[]>(`${server.url}/auth/sessions`, {
      headers: { authorization: `Bearer ${b.body.data.accessToken}` },
    })
    const ids = sessions.body.data.map((s) => s.id)
    const sid = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid
    expect(ids).toContain(sid(a.body.data.accessToken))
    expect(ids).toContain(sid(b.body.data.accessToken))
    expect(sid(a.body.data.accessToken)).not.toBe(sid(b.body.data.accessToken))
  })
})
