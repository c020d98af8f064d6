import express from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier } from '../../src/verify/verifier.js'
import { claimsOf, registerBearer, request } from '../helpers/http.js'
import { type Served, serve } from '../helpers/serve.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * amr and auth_time in access tokens, kept across refreshes and renewed by a re-authentication;
 * requireAuth({ mfa, maxAge }) of the server and of the JWKS-only verifier (RFC 9470).
 */
let server: TestServer
let app: Served
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
  const verifier = createVerifier({
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    issuer: 'tokenpair',
    audience: 'tokenpair',
  })
  const api = express()
  const ok = (_req: express.Request, res: express.Response) => {
    res.json({ ok: true })
  }
  api.get('/mfa', server.auth.requireAuth({ mfa: true }), ok)
  api.get('/recent', server.auth.requireAuth({ maxAge: '5m' }), ok)
  api.get('/verifier/mfa', verifier.requireAuth({ mfa: true }), ok)
  api.get('/verifier/recent', verifier.requireAuth({ maxAge: 300_000 }), ok)
  app = await serve(api)
})
afterAll(async () => {
  await app.close()
  await server.close()
})
afterEach(() => {
  vi.useRealTimers()
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function refresh(refreshToken: string) {
  const res = await request(`${server.url}/auth/refresh`, {
    body: { refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status).toBe(200)
  return res.body.data as { accessToken: string; refreshToken: string }
}

describe('amr and auth_time', () => {
  it('a password login carries amr ["pwd"] and auth_time; a refresh keeps both', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const t0 = Date.now()
    const user = await registerBearer(server.url)
    const first = claimsOf(user.accessToken)
    expect(first.amr).toEqual(['pwd'])
    expect(first.auth_time).toBe(Math.floor(t0 / 1000))
    vi.setSystemTime(t0 + 60_000)
    const next = await refresh(user.refreshToken)
    const claims = claimsOf(next.accessToken)
    expect(claims.amr).toEqual(['pwd'])
    expect(claims.auth_time).toBe(first.auth_time)
    expect(claims.iat).toBe(Math.floor((t0 + 60_000) / 1000))
  })

  it('a re-authentication (currentPassword) renews auth_time for the tokens after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const t0 = Date.now()
    const user = await registerBearer(server.url)
    vi.setSystemTime(t0 + 120_000)
    const changed = await request(`${server.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'another horse battery staple' },
      headers: bearer(user.accessToken),
    })
    expect(changed.status).toBe(200)
    const next = await refresh(user.refreshToken)
    expect(claimsOf(next.accessToken).auth_time).toBe(Math.floor((t0 + 120_000) / 1000))
  })
})

describe('requireAuth({ mfa, maxAge })', () => {
  for (const prefix of ['', '/verifier']) {
    const who = prefix === '' ? 'the server' : 'the JWKS-only verifier'

    it(`${who}: mfa refuses a password-only token with 401 insufficient_user_authentication (RFC 9470)`, async () => {
      const user = await registerBearer(server.url)
      const res = await request(`${app.url}${prefix}/mfa`, { headers: bearer(user.accessToken) })
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('insufficient_user_authentication')
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer error="insufficient_user_authentication", error_description="[^"]+"$/,
      )
    })

    it(`${who}: maxAge passes a fresh login and refuses one older, with max_age`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const t0 = Date.now()
      const user = await registerBearer(server.url)
      expect(
        (await request(`${app.url}${prefix}/recent`, { headers: bearer(user.accessToken) })).status,
      ).toBe(200)
      vi.setSystemTime(t0 + 6 * 60_000)
      // The refreshed token is new, but its login is as old as before.
      const next = await refresh(user.refreshToken)
      const res = await request(`${app.url}${prefix}/recent`, { headers: bearer(next.accessToken) })
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('insufficient_user_authentication')
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age=300$/,
      )
    })
  }

  it('refuses a bad maxAge at setup', () => {
    expect(() => server.auth.requireAuth({ maxAge: 'soon' })).toThrow(/maxAge/)
    expect(() => server.auth.requireAuth({ maxAge: 10 })).toThrow(/maxAge/)
  })
})
