import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ERROR_CODES } from '../../src/errors.js'
import { ERROR_STATUS } from '../../src/express/error-status.js'
import { errorEnvelopeSchema, successEnvelopeSchema } from '../../src/protocol/envelope.js'
import {
  jwkSetSchema,
  publicUserSchema,
  revokedCountSchema,
  sessionEntrySchema,
  tokenResponseSchema,
} from '../../src/protocol/wire-schemas.js'
import { newUser, registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('request bodies', () => {
  it('answers 415 for a body that is not JSON', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await request(`${server.url}/auth/login`, {
        rawBody: 'login=a&password=b',
        headers: { 'content-type': type },
      })
      expect(res.status, type).toBe(415)
      expect(res.body.code).toBe('unsupported_media_type')
    }
    const untyped = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      body: new Uint8Array([123, 125]),
    })
    expect(untyped.status).toBe(415)
  })

  it('answers 413 for a body over 16 KiB and accepts one just under', async () => {
    const big = await request(`${server.url}/auth/login`, {
      rawBody: JSON.stringify({ login: 'x', password: 'p'.repeat(16 * 1024) }),
      headers: { 'content-type': 'application/json' },
    })
    expect(big.status).toBe(413)
    expect(big.body.code).toBe('payload_too_large')
    const under = await request(`${server.url}/auth/login`, {
      rawBody: JSON.stringify({ login: 'x', password: 'y', pad: 'p'.repeat(16 * 1024 - 64) }),
      headers: { 'content-type': 'application/json' },
    })
    expect(under.status).toBe(401)
  })

  it('answers 400 malformed_json for a body that does not parse', async () => {
    for (const raw of ['{', '{"login": }', "{'a':1}", '\u0000']) {
      const res = await request(`${server.url}/auth/login`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status, raw).toBe(400)
      expect(res.body.code).toBe('malformed_json')
    }
  })

  it('accepts application/json with a charset and +json types', async () => {
    const res = await request(`${server.url}/auth/login`, {
      rawBody: JSON.stringify({ login: 'nobody', password: 'whatever1' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(res.status).toBe(401)
  })
})

describe('routes', () => {
  it('answers 404 not_found in the envelope for unknown routes, inside and outside /auth', async () => {
    for (const path of ['/nope', '/auth/nope', '/auth/login/extra']) {
      const res = await request(`${server.url}${path}`)
      expect(res.status, path).toBe(404)
      expect(res.body).toEqual({
        statusCode: 404,
        data: null,
        message: 'Not found',
        success: false,
        code: 'not_found',
        errors: [],
      })
    }
    const wrongMethod = await request(`${server.url}/auth/login`)
    expect(wrongMethod.status).toBe(404)
  })

  it('answers /healthz and /readyz', async () => {
    expect((await request(`${server.url}/healthz`)).status).toBe(200)
    const ready = await request(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(ready.body.success).toBe(true)
  })
})

describe('access token expiry', () => {
  it('answers token_expired once exp has passed (beyond the leeway), through header and cookie', async () => {
    const t0 = Date.parse('2031-05-05T10:00:00Z')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(t0)
    const user = await registerBearer(server.url)
    vi.setSystemTime(t0 + 15 * 60_000 + 3_000)
    expect(
      (await request(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${user.accessToken}` } }))
        .status,
    ).toBe(200)
    vi.setSystemTime(t0 + 15 * 60_000 + 6_000)
    const sources: Record<string, string>[] = [
      { authorization: `Bearer ${user.accessToken}` },
      { cookie: `accessToken=${user.accessToken}` },
    ]
    for (const headers of sources) {
      const res = await request(`${server.url}/auth/me`, { headers })
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('token_expired')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    }
  })
})

describe('requireAuth in an app of ones own', () => {
  let app: Server
  let base: string
  beforeAll(async () => {
    const api = express()
    api.get('/notes', server.auth.requireAuth(), (req, res) => {
      res.json({
        userId: req.auth!.userId,
        sessionId: req.auth!.sessionId,
        username: req.auth!.claims.username,
      })
    })
    api.get('/admin', server.auth.requireAuth({ roles: ['admin'] }), (_req, res) => {
      res.json({ ok: true })
    })
    api.get('/users-only', server.auth.requireAuth({ roles: ['user', 'admin'] }), (_req, res) => {
      res.json({ ok: true })
    })
    api.get('/verified', server.auth.requireAuth({ verifiedEmail: true }), (_req, res) => {
      res.json({ ok: true })
    })
    api.post('/strict', server.auth.requireAuth({ checkSession: true }), (_req, res) => {
      res.json({ ok: true })
    })
    api.get('/unchecked', server.auth.requireAuth({ checkSession: false }), (_req, res) => {
      res.json({ ok: true })
    })
    app = await new Promise<Server>((resolve) => {
      const s = api.listen(0, '127.0.0.1', () => resolve(s))
    })
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    app.closeAllConnections()
    await new Promise((resolve) => app.close(resolve))
  })

  it('sets req.auth from the token', async () => {
    const user = await registerBearer(server.url)
    const res = await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      userId: user.id,
      sessionId: expect.any(String),
      username: user.username,
    })
  })

  it('answers 403 forbidden without the role, and passes with one of the roles', async () => {
    const user = await registerBearer(server.url)
    const headers = { authorization: `Bearer ${user.accessToken}` }
    const admin = await request(`${base}/admin`, { headers })
    expect(admin.status).toBe(403)
    expect(admin.body.code).toBe('forbidden')
    expect((await request(`${base}/users-only`, { headers })).status).toBe(200)
    expect((await request(`${base}/admin`)).body.code).toBe('missing_token')
  })

  it('answers 403 email_unverified on a route that needs a verified address', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${base}/verified`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('email_unverified')
  })

  it('answers session_revoked after a logout by default, while checkSession: false still passes', async () => {
    const user = await registerBearer(server.url)
    const headers = { authorization: `Bearer ${user.accessToken}` }
    expect((await request(`${base}/strict`, { method: 'POST', headers })).status).toBe(200)
    await request(`${server.url}/auth/logout`, { body: { refreshToken: user.refreshToken } })
    const res = await request(`${base}/strict`, { method: 'POST', headers })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('session_revoked')
    // requireAuth() checks the session by default: a logout reaches the app's own routes.
    const byDefault = await request(`${base}/notes`, { headers })
    expect([byDefault.status, byDefault.body.code]).toEqual([401, 'session_revoked'])
    // Opting out trades that for a storage read less: the token lives until it expires.
    expect((await request(`${base}/unchecked`, { headers })).status).toBe(200)
  })

  it('applies the CSRF rule to cookie-borne state changes on the app routes too', async () => {
    const user = await registerBearer(server.url)
    const res = await request(`${base}/strict`, {
      method: 'POST',
      headers: { cookie: `accessToken=${user.accessToken}`, origin: 'https://evil.example' },
    })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('csrf_rejected')
    const own = await request(`${base}/strict`, {
      method: 'POST',
      headers: { cookie: `accessToken=${user.accessToken}`, origin: base },
    })
    expect(own.status).toBe(200)
  })
})

describe('error codes', () => {
  it('are exactly the codes of the contract, each with its status', () => {
    expect([...ERROR_CODES].sort()).toEqual(
      [
        'validation_failed',
        'malformed_json',
        'missing_token',
        'token_expired',
        'invalid_token',
        'session_revoked',
        'missing_refresh_token',
        'invalid_refresh_token',
        'refresh_token_reused',
        'invalid_credentials',
        'invalid_dpop_proof',
        'use_dpop_nonce',
        'mfa_required',
        'invalid_mfa_token',
        'invalid_mfa_code',
        'insufficient_user_authentication',
        'last_credential',
        'csrf_rejected',
        'forbidden',
        'email_unverified',
        'reauthentication_required',
        'last_credential',
        'not_found',
        'invalid_email_token',
        'invalid_reset_token',
        'username_taken',
        'email_taken',
        'payload_too_large',
        'unsupported_media_type',
        'rate_limited',
        'internal_error',
        'unavailable',
      ].sort(),
    )
    expect(ERROR_STATUS).toMatchObject({
      validation_failed: 400,
      malformed_json: 400,
      missing_token: 401,
      token_expired: 401,
      invalid_token: 401,
      session_revoked: 401,
      missing_refresh_token: 401,
      invalid_refresh_token: 401,
      refresh_token_reused: 401,
      invalid_credentials: 401,
      invalid_dpop_proof: 401,
      use_dpop_nonce: 401,
      mfa_required: 401,
      invalid_mfa_token: 401,
      invalid_mfa_code: 401,
      insufficient_user_authentication: 401,
      last_credential: 409,
      csrf_rejected: 403,
      forbidden: 403,
      email_unverified: 403,
      reauthentication_required: 403,
      not_found: 404,
      invalid_email_token: 400,
      invalid_reset_token: 400,
      username_taken: 409,
      email_taken: 409,
      payload_too_large: 413,
      unsupported_media_type: 415,
      rate_limited: 429,
      internal_error: 500,
      unavailable: 503,
    })
  })
})

describe('wire schemas', () => {
  it('describe what the server answers', async () => {
    const registered = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer' },
    })
    successEnvelopeSchema(tokenResponseSchema).strict().parse(registered.body)
    const headers = { authorization: `Bearer ${registered.body.data.accessToken}` }
    const me = await request(`${server.url}/auth/me`, { headers })
    successEnvelopeSchema(publicUserSchema).strict().parse(me.body)
    const sessions = await request(`${server.url}/auth/sessions`, { headers })
    successEnvelopeSchema(z.array(sessionEntrySchema)).strict().parse(sessions.body)
    const wrongPassword = await request(`${server.url}/auth/login`, {
      body: { login: registered.body.data.user.username, password: 'wrong password!' },
    })
    errorEnvelopeSchema.strict().parse(wrongPassword.body)
    const invalid = await request(`${server.url}/auth/register`, { body: { username: 'x' } })
    const parsedError = errorEnvelopeSchema.strict().parse(invalid.body)
    expect(parsedError.errors.length).toBeGreaterThan(0)
    const all = await request(`${server.url}/auth/logout-all`, { method: 'POST', headers })
    successEnvelopeSchema(revokedCountSchema).strict().parse(all.body)
    jwkSetSchema.parse((await request(`${server.url}/.well-known/jwks.json`)).body)
    // A schema that demands what the server does not send fails: the parse above can fail.
    expect(() => successEnvelopeSchema(z.array(publicUserSchema)).parse(me.body)).toThrow()
  })
})
