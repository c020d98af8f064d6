import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../../src/auth.js'
import { createServerApp } from '../../src/server/app.js'
import { createLogger } from '../../src/server/logging.js'
import { SQLStorage } from '../../src/storage/sql/sql-storage.js'
import { newUser, parseSetCookies, registerBearer, request } from '../helpers/http.js'
import { type Served, serve } from '../helpers/serve.js'
import { startTestServer, TEST_SECRET } from '../helpers/test-server.js'

/*
 * Hygiene: nothing secret in the logs, helmet's headers, CORS for the allowed origins only, and
 * the __Host-/__Secure- cookie prefixes.
 */

describe('logs over a full flow', () => {
  const lines: string[] = []
  const secrets = new Set<string>([TEST_SECRET])
  let auth: Auth
  let server: Served
  let url: string
  let outbox: string

  /** Remembers every token of a response, whole and by signature (a cut token still leaks it). */
  function collect(res: { body: unknown; setCookies: string[] }): void {
    const text = JSON.stringify(res.body) + res.setCookies.join('\n')
    for (const token of text.match(/[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/g) ?? []) {
      secrets.add(token)
      secrets.add(token.split('.')[2]!)
    }
  }

  beforeAll(async () => {
    outbox = mkdtempSync(join(tmpdir(), 'tokenpair-hygiene-'))
    const logger = createLogger({
      level: 'trace',
      destination: { write: (line: string) => lines.push(line) },
    })
    auth = await createAuth({
      database: 'sqlite::memory:',
      secret: TEST_SECRET,
      logger,
      refreshReuseGrace: 0,
      rateLimit: { loginPair: '2/1h' },
      mail: { outboxDir: outbox },
    })
    const app = createServerApp(auth, { logger })
    server = await serve(app)
    url = server.url
  })
  afterAll(async () => {
    await server.close()
    await auth.close().catch(() => {})
    rmSync(outbox, { recursive: true, force: true })
  })

  it('holds no password, hash, token or secret', async () => {
    const body = newUser()
    const newPassword = 'a brand new passphrase 42'
    secrets.add(body.password).add(newPassword)
    const own = { origin: url }
    const registered = await request(`${url}/auth/register`, { body, headers: own })
    expect(registered.status).toBe(201)
    collect(registered)
    const cookies = parseSetCookies(registered.setCookies)
    const cookieHeader = `accessToken=${cookies.get('accessToken')!.value}; refreshToken=${cookies.get('refreshToken')!.value}`
    const { accessToken, refreshToken } = registered.body.data as {
      accessToken: string
      refreshToken: string
    }
    const bearer = { authorization: `Bearer ${accessToken}` }

    collect(await request(`${url}/auth/login`, { body: { login: body.username, password: 'wrong guess 1' } }))
    collect(await request(`${url}/auth/login`, { body: { login: body.username, password: body.password } }))
    collect(await request(`${url}/auth/me`, { headers: bearer }))
    collect(await request(`${url}/auth/me`, { headers: { cookie: cookieHeader } }))
    collect(await request(`${url}/auth/sessions`, { headers: bearer }))
    const rotated = await request(`${url}/auth/refresh`, {
      body: { refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(rotated.status).toBe(200)
    collect(rotated)
    // Reuse detection logs a warning: it must name the session, not the token.
    const reused = await request(`${url}/auth/refresh`, { body: { refreshToken } })
    expect(reused.body.code).toBe('refresh_token_reused')
    collect(await request(`${url}/auth/refresh`, { headers: { cookie: cookieHeader, ...own }, body: {} }))
    collect(await request(`${url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}x` } }))
    // Rate limited, then malformed and refused bodies: the paths that log.
    for (let i = 0; i < 3; i++) {
      collect(
        await request(`${url}/auth/login`, { body: { login: body.email, password: `wrong guess ${i}` } }),
      )
    }
    await request(`${url}/auth/login`, {
      rawBody: `{"login":"x","password":"${body.password}"`,
      headers: { 'content-type': 'application/json' },
    })
    const second = await registerBearer(url)
    secrets.add(second.password).add(second.accessToken).add(second.refreshToken)
    const changed = await request(`${url}/auth/change-password`, {
      body: { currentPassword: second.password, newPassword },
      headers: { authorization: `Bearer ${second.accessToken}` },
    })
    expect(changed.status).toBe(200)
    collect(await request(`${url}/auth/logout`, { body: { refreshToken: second.refreshToken } }))

    const storage = auth.storage
    if (!(storage instanceof SQLStorage)) throw new TypeError('expected SQL storage')
    for (const row of await storage.db.selectFrom('tp_users').select('password_hash').execute()) {
      const hash = String((row as { password_hash: string }).password_hash)
      secrets.add(hash)
      secrets.add(hash.split('$').at(-1)!)
    }
    // A failing database: the error path logs the error, which must not carry the query's values.
    await storage.close()
    const broken = await request(`${url}/auth/login`, {
      body: { login: body.username, password: newPassword },
    })
    expect(broken.status).toBeGreaterThanOrEqual(500)
    await request(`${url}/auth/register`, { body: newUser({ password: 'yet another secret pass' }) })
    secrets.add('yet another secret pass')

    const log = lines.join('')
    expect(lines.length).toBeGreaterThan(20)
    expect(log).toMatch(/reuse/)
    for (const secret of secrets) {
      expect(log.includes(secret), `the log holds a secret of ${secret.length} characters`).toBe(false)
    }
    expect(log).not.toMatch(/\$argon2id\$/)
  })
})

describe('headers of the ready server', () => {
  it("sets helmet's headers and no-store on the auth routes", async () => {
    const s = await startTestServer({ rateLimit: false })
    try {
      for (const path of ['/healthz', '/auth/me', '/nope']) {
        const res = await request(`${s.url}${path}`)
        expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
        expect(res.headers.get('x-content-type-options')).toBe('nosniff')
        expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
        expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
        expect(res.headers.get('referrer-policy')).toBe('no-referrer')
        expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin')
        expect(res.headers.get('x-powered-by')).toBeNull()
      }
      expect((await request(`${s.url}/auth/me`)).headers.get('cache-control')).toBe('no-store')
      expect((await request(`${s.url}/.well-known/jwks.json`)).headers.get('cache-control')).toMatch(/public/)
    } finally {
      await s.close()
    }
  })
})

describe('CORS', () => {
  it('answers the allowed origins only, with credentials, never *', async () => {
    const s = await startTestServer({ rateLimit: false, allowedOrigins: ['https://app.example'] })
    try {
      const user = await registerBearer(s.url)
      const allowed = await request(`${s.url}/auth/me`, {
        headers: { origin: 'https://app.example', authorization: `Bearer ${user.accessToken}` },
      })
      expect(allowed.status).toBe(200)
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example')
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true')
      expect(allowed.headers.get('vary')).toMatch(/Origin/i)

      const preflight = await request(`${s.url}/auth/refresh`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-auth-mode',
        },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/)
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Auth-Mode/i)

      for (const origin of [
        'https://evil.example',
        'null',
        'https://app.example.evil.example',
        'http://app.example',
      ]) {
        const foreign = await request(`${s.url}/auth/me`, {
          headers: { origin, authorization: `Bearer ${user.accessToken}` },
        })
        expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
        expect(foreign.headers.get('access-control-allow-credentials')).toBeNull()
        const refused = await request(`${s.url}/auth/login`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        })
        expect(refused.headers.get('access-control-allow-origin')).toBeNull()
        expect(refused.headers.get('access-control-allow-methods')).toBeNull()
      }
    } finally {
      await s.close()
    }
  })
})

describe('cookie prefixes', () => {
  it('cookiePrefix host: __Host-accessToken (Path=/) and __Secure-refreshToken (Path=/auth), read back strictly', async () => {
    const s = await startTestServer({ rateLimit: false, cookiePrefix: 'host' })
    try {
      const res = await request(`${s.url}/auth/register`, {
        body: newUser(),
        headers: { 'x-auth-mode': 'cookie' },
      })
      expect(res.status).toBe(201)
      const cookies = parseSetCookies(res.setCookies)
      expect([...cookies.keys()].sort()).toEqual(['__Host-accessToken', '__Secure-refreshToken'])
      const access = cookies.get('__Host-accessToken')!
      expect(access.attributes).toMatchObject({ path: '/', secure: true, httponly: true })
      expect(access.attributes.domain).toBeUndefined()
      const refresh = cookies.get('__Secure-refreshToken')!
      expect(refresh.attributes).toMatchObject({ path: '/auth', secure: true, httponly: true })

      const me = await request(`${s.url}/auth/me`, {
        headers: { cookie: `__Host-accessToken=${access.value}` },
      })
      expect(me.status).toBe(200)
      // An unprefixed cookie (which a sibling subdomain could plant) is not read.
      const planted = await request(`${s.url}/auth/me`, {
        headers: { cookie: `accessToken=${access.value}` },
      })
      expect(planted.status).toBe(401)
      expect(planted.body.code).toBe('missing_token')

      const refreshed = await request(`${s.url}/auth/refresh`, {
        headers: { cookie: `__Secure-refreshToken=${refresh.value}`, origin: s.url },
        body: {},
      })
      expect(refreshed.status).toBe(200)
      expect(parseSetCookies(refreshed.setCookies).has('__Secure-refreshToken')).toBe(true)
      const plantedRefresh = await request(`${s.url}/auth/refresh`, {
        headers: { cookie: `refreshToken=${refresh.value}`, origin: s.url },
        body: {},
      })
      expect(plantedRefresh.body.code).toBe('missing_refresh_token')
    } finally {
      await s.close()
    }
  })

  it('cookiePrefix secure gives both __Secure-; a prefix without Secure does not start', async () => {
    const s = await startTestServer({ rateLimit: false, cookiePrefix: 'secure' })
    try {
      const res = await request(`${s.url}/auth/register`, { body: newUser() })
      expect([...parseSetCookies(res.setCookies).keys()].sort()).toEqual([
        '__Secure-accessToken',
        '__Secure-refreshToken',
      ])
    } finally {
      await s.close()
    }
    await expect(
      createAuth({
        database: 'sqlite::memory:',
        secret: TEST_SECRET,
        cookieSecure: false,
        cookiePrefix: 'host',
      }),
    ).rejects.toThrow(/cookiePrefix/)
  })
})
