import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Auth } from '../../src/auth.js'
import type { ClaimsContext } from '../../src/config/app-options.js'
import { createVerifier } from '../../src/verify/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { type Served, serve } from '../helpers/serve.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* The app's own claims (`claims` of createAuth), through the real router on every database. */

type AppClaims = { tenant: string; plan: 'free' | 'pro'; reason: ClaimsContext['reason'] }

const refresh = (url: string, refreshToken: string) =>
  request<{ accessToken: string; refreshToken: string }>(`${url}/auth/refresh`, {
    body: { refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })

/** The claims of a token, decoded without a check (the checks are the verifier's). */
const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))

const errors: string[] = []
const logger = {
  info: () => {},
  warn: () => {},
  error: (obj: object) => errors.push(JSON.stringify(obj)),
}

let server: TestServer
let api: Served
/** The test server's Auth with the claims type its `claims` option gives it. */
const typed = () => server.auth as unknown as Auth<AppClaims>
const plans = new Map<string, 'free' | 'pro'>()
beforeAll(async () => {
  server = await startTestServer({
    rateLimit: false,
    logger,
    claims: ({ user, reason }): AppClaims => ({
      tenant: `tenant-of-${user.username}`,
      plan: plans.get(user.id) ?? 'free',
      reason,
    }),
  })
  // A service of the app that reads the claims typed, from the JWKS alone.
  const verifier = createVerifier<AppClaims>({
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    issuer: 'tokenpair',
    audience: 'tokenpair',
  })
  const app = express()
  app.get('/api/tenant', verifier.requireAuth(), (req, res) => {
    const { claims } = verifier.readAuth(req)
    res.json({ tenant: claims.tenant, plan: claims.plan, sub: claims.sub })
  })
  app.get('/api/here', server.auth.requireAuth(), (req, res) => {
    res.json({ tenant: typed().readAuth(req).claims.tenant })
  })
  api = await serve(app)
})
afterAll(async () => {
  await api.close()
  await server.close()
})

describe('custom claims', () => {
  it('are in the token at registration and after each refresh, and follow the user', async () => {
    const user = await registerBearer(server.url)
    expect(payloadOf(user.accessToken)).toMatchObject({
      tenant: `tenant-of-${user.username}`,
      plan: 'free',
      reason: 'register',
      sub: user.id,
    })
    plans.set(user.id, 'pro')
    const next = await refresh(server.url, user.refreshToken)
    expect(next.status).toBe(200)
    expect(payloadOf(next.body.data.accessToken)).toMatchObject({ plan: 'pro', reason: 'refresh' })
    const login = await request<{ accessToken: string }>(`${server.url}/auth/login`, {
      body: { login: user.username, password: user.password },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(payloadOf(login.body.data.accessToken)).toMatchObject({ plan: 'pro', reason: 'login' })
  })

  it('are verified by createVerifier and by requireAuth, and read typed', async () => {
    const user = await registerBearer(server.url)
    const headers = { authorization: `Bearer ${user.accessToken}` }
    const remote = await fetch(`${api.url}/api/tenant`, { headers })
    expect(remote.status).toBe(200)
    expect(await remote.json()).toEqual({ tenant: `tenant-of-${user.username}`, plan: 'free', sub: user.id })
    const local = await fetch(`${api.url}/api/here`, { headers })
    expect(await local.json()).toEqual({ tenant: `tenant-of-${user.username}` })
    const claims = await typed().verifyAccessToken(user.accessToken)
    expect(claims.tenant).toBe(`tenant-of-${user.username}`)
  })

  it('a route without requireAuth() reading them answers 401 missing_token, not a crash', async () => {
    const app = express()
    app.get('/open', (req, res) => {
      server.auth.readAuth(req)
      res.end()
    })
    app.use(server.auth.errorHandler())
    const open = await serve(app)
    try {
      const res = await request(`${open.url}/open`)
      expect([res.status, res.body.code]).toEqual([401, 'missing_token'])
    } finally {
      await open.close()
    }
  })
})

describe('claims the app may not set', () => {
  /** A server whose claims function returns `bad` (as plain JavaScript would, past the types). */
  async function withClaims(bad: () => unknown, check: (s: TestServer) => Promise<void>) {
    const s = await startTestServer({
      rateLimit: false,
      logger,
      claims: bad as () => Record<string, never>,
    })
    try {
      await check(s)
    } finally {
      await s.close()
    }
  }

  for (const [name, value] of [
    ['sub', 'someone-else'],
    ['sid', 'x'],
    ['exp', 9_999_999_999],
    ['amr', ['pwd', 'otp']],
    ['cnf', { jkt: 'x' }],
    ['roles', ['admin']],
  ] as const) {
    it(`refuses ${name}: the login fails with a logged error naming it, and opens no session`, async () => {
      const before = errors.length
      let login = true
      await withClaims(
        () => (login ? { [name]: value } : {}),
        async (s) => {
          login = false
          const user = await registerBearer(s.url)
          login = true
          const res = await request(`${s.url}/auth/login`, {
            body: { login: user.username, password: user.password },
            headers: { 'x-auth-mode': 'bearer' },
          })
          expect([res.status, res.body.code]).toEqual([500, 'internal_error'])
          expect(JSON.stringify(res.body)).not.toContain(name === 'sub' ? 'someone-else' : '"amr"')
          expect(errors.slice(before).join('\n')).toContain(`claims: \\"${name}\\" is reserved`)
          // Only the registration's session: the refused login wrote none.
          expect(await s.auth.storage.listActiveSessions(user.id, Date.now())).toHaveLength(1)
        },
      )
    })
  }

  it('a claims function that fails at registration writes no user: the same registration then succeeds', async () => {
    let failing = true
    await withClaims(
      () => {
        if (failing) throw new Error('the plan service is down')
        return { plan: 'free' }
      },
      async (s) => {
        const body = {
          username: 'claimsdown',
          email: 'claimsdown@example.com',
          fullname: 'Claims Down',
          password: 'a long enough password 1',
        }
        const first = await request(`${s.url}/auth/register`, { body, headers: { 'x-auth-mode': 'bearer' } })
        expect([first.status, first.body.code]).toEqual([500, 'internal_error'])
        expect(await s.auth.users.find('claimsdown')).toBeNull()
        failing = false
        const second = await request(`${s.url}/auth/register`, { body, headers: { 'x-auth-mode': 'bearer' } })
        expect(second.status).toBe(201)
        expect(payloadOf(second.body.data.accessToken).plan).toBe('free')
      },
    )
  })

  it('refuses claims over the size bound, and values that are not JSON', async () => {
    const before = errors.length
    let mode: 'ok' | 'big' | 'fn' = 'ok'
    await withClaims(
      () => (mode === 'big' ? { blob: 'x'.repeat(3000) } : mode === 'fn' ? { f: () => 1 } : { small: 1 }),
      async (s) => {
        const user = await registerBearer(s.url)
        expect(payloadOf(user.accessToken).small).toBe(1)
        for (const next of ['big', 'fn'] as const) {
          mode = next
          const res = await refresh(s.url, user.refreshToken)
          expect([res.status, res.body.code]).toEqual([500, 'internal_error'])
        }
        const logged = errors.slice(before).join('\n')
        expect(logged).toContain('at most 2048 fit in a token')
        expect(logged).toContain('must return JSON values only')
        // The refused refreshes consumed nothing: the token still rotates once the claims are fine.
        mode = 'ok'
        expect((await refresh(s.url, user.refreshToken)).status).toBe(200)
      },
    )
  })
})
