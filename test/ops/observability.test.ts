import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type Auth, createAuth } from '../../src/auth.js'
import type { SecurityEvent } from '../../src/events/events.js'
import { createServerApp } from '../../src/server/app.js'
import { createLogger } from '../../src/server/logging.js'
import { toOpenAPIPath } from '../../src/server/openapi.js'
import { type RunningServer, startServer } from '../../src/server/start-server.js'
import { registerSchema } from '../../src/users/user-schemas.js'
import { newUser, parseSetCookies, request } from '../helpers/http.js'
import { DISCARD_MAIL, TEST_SECRET } from '../helpers/test-server.js'

type LogLine = Record<string, unknown>

/** The real server app with its request log and security events captured in memory. */
async function startLoggedServer() {
  const lines: LogLine[] = []
  const raw: string[] = []
  const logger = createLogger({
    level: 'info',
    destination: {
      write(chunk: string) {
        raw.push(chunk)
        lines.push(JSON.parse(chunk) as LogLine)
      },
    },
  })
  const events: SecurityEvent[] = []
  const auth = await createAuth({
    database: 'sqlite::memory:',
    secret: TEST_SECRET,
    mail: { transport: DISCARD_MAIL },
    logger,
    refreshReuseGrace: 0,
    // Small enough to reach in a test: the third failure of one name and IP is refused.
    rateLimit: { loginPair: '2/1h' },
    onEvent: (event) => {
      events.push(event)
    },
  })
  const app = createServerApp(auth, { logger })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    auth,
    lines,
    raw,
    events,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await auth.close()
    },
  }
}

describe('logs, security events and metrics', () => {
  let s: Awaited<ReturnType<typeof startLoggedServer>>
  const user = newUser()
  let secrets: string[] = []

  beforeAll(async () => {
    s = await startLoggedServer()
    const reg = await request<{ accessToken: string; refreshToken: string }>(`${s.url}/auth/register`, {
      body: user,
    })
    expect(reg.status).toBe(201)
    const cookies = parseSetCookies(reg.setCookies)
    const { accessToken, refreshToken } = reg.body.data
    await request(`${s.url}/auth/login`, { body: { login: user.username, password: 'wrong password!' } })
    const login = await request<{ accessToken: string; refreshToken: string }>(`${s.url}/auth/login`, {
      body: { login: user.username, password: user.password },
      headers: { 'x-auth-mode': 'bearer', 'x-request-id': 'trace-abc.123' },
    })
    const me = await request(`${s.url}/auth/me`, {
      headers: {
        authorization: `Bearer ${login.body.data.accessToken}`,
        'x-request-id': 'bad id\twith spaces',
      },
    })
    expect(me.status).toBe(200)
    // Cookie-borne refresh: the refresh token travels in a Cookie header, which must not be logged.
    const refreshed = await request(`${s.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${refreshToken}`, origin: s.url },
    })
    expect(refreshed.status).toBe(200)
    const reused = await request(`${s.url}/auth/refresh`, { body: { refreshToken } })
    expect(reused.body.code).toBe('refresh_token_reused')
    const changed = await request(`${s.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'a brand new password' },
      headers: { authorization: `Bearer ${login.body.data.accessToken}` },
    })
    expect(changed.status).toBe(200)
    await request(`${s.url}/auth/logout`, { body: { refreshToken: login.body.data.refreshToken } })
    const guesses = []
    for (let i = 0; i < 3; i++) {
      guesses.push(
        (await request(`${s.url}/auth/login`, { body: { login: 'nobody_here', password: 'guess 12345' } }))
          .status,
      )
    }
    expect(guesses).toEqual([401, 401, 429])
    secrets = [
      user.password,
      'a brand new password',
      accessToken,
      refreshToken,
      login.body.data.accessToken,
      login.body.data.refreshToken,
      cookies.get('accessToken')!.value,
      TEST_SECRET,
    ]
  })
  afterAll(async () => {
    await s?.close()
  })

  it('writes one JSON line per request with a request id, echoed, an incoming one honoured if sane', async () => {
    const res = await request(`${s.url}/healthz`, { headers: { 'x-request-id': 'lb-42' } })
    expect(res.headers.get('x-request-id')).toBe('lb-42')
    const generated = await request(`${s.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(500) } })
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const requestLines = s.lines.filter((l) => l.msg === 'request completed' || l.msg === 'request failed')
    const healthz = requestLines.filter((l) => (l.req as { url: string }).url === '/healthz')
    expect(healthz.map((l) => l.reqId)).toEqual(['lb-42', generated.headers.get('x-request-id')])
    expect(requestLines.filter((l) => (l.req as { url: string }).url === '/auth/login')).toHaveLength(5)
    expect(requestLines.find((l) => l.reqId === 'trace-abc.123')).toBeDefined()
    const me = requestLines.find((l) => (l.req as { url: string }).url === '/auth/me')!
    expect(me.reqId).not.toContain(' ')
    expect(me.userId).toBe(s.events.find((e) => e.type === 'login_succeeded')!.userId)
    expect(typeof me.sessionId).toBe('string')
    expect(me.res).toEqual({ statusCode: 200 })
  })

  it('never logs a password, token, cookie or secret', () => {
    const all = s.raw.join('\n')
    expect(all.length).toBeGreaterThan(1000)
    for (const secret of secrets) expect(all).not.toContain(secret)
    expect(all.toLowerCase()).not.toContain('authorization')
    expect(all).not.toContain('argon2')
  })

  it('reports each security event to onEvent and as a log line', () => {
    const types = s.events.map((e) => e.type)
    for (const type of [
      'user_registered',
      'login_failed',
      'login_succeeded',
      'session_created',
      'token_refreshed',
      'refresh_reused',
      'session_revoked',
      'password_changed',
    ]) {
      expect(types, type).toContain(type)
    }
    const reuse = s.events.find((e) => e.type === 'refresh_reused')!
    expect(s.events).toContainEqual(
      expect.objectContaining({
        type: 'session_revoked',
        sessionId: reuse.sessionId,
        reason: 'reuse_detected',
      }),
    )
    expect(s.events).toContainEqual(expect.objectContaining({ type: 'session_revoked', reason: 'logout' }))
    const logged = s.lines.filter((l) => typeof l.event === 'string').map((l) => l.event)
    expect(logged).toEqual(types)
    expect(s.lines.find((l) => l.event === 'refresh_reused')!.level).toBe(40)
    for (const event of s.events) expect(Date.parse(event.at)).not.toBeNaN()
  })

  it('serves Prometheus metrics from its own registry', async () => {
    const res = await fetch(`${s.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
    expect(value('tokenpair_logins_total{outcome="succeeded"}')).toBe(1)
    expect(value('tokenpair_logins_total{outcome="failed"}')).toBe(3)
    expect(value('tokenpair_logins_total{outcome="limited"}')).toBe(1)
    expect(value('tokenpair_registrations_total')).toBe(1)
    expect(value('tokenpair_refreshes_total')).toBe(1)
    expect(value('tokenpair_refresh_reuse_detected_total')).toBe(1)
    expect(value('tokenpair_sessions_revoked_total{reason="reuse_detected"}')).toBe(1)
    expect(value('tokenpair_sessions_revoked_total{reason="logout"}')).toBe(1)
    expect(
      value('tokenpair_http_request_duration_seconds_count{method="POST",route="/auth/login",status="200"}'),
    ).toBe(1)
    expect(
      value('tokenpair_http_request_duration_seconds_count{method="POST",route="/auth/login",status="401"}'),
    ).toBe(3)
    expect(
      value('tokenpair_http_request_duration_seconds_count{method="POST",route="/auth/login",status="429"}'),
    ).toBe(1)
    expect(text).not.toContain(user.username)
  })
})

describe('OpenAPI', () => {
  let auth: Auth
  let url: string
  let server: Server
  let app: ReturnType<typeof createServerApp>

  beforeAll(async () => {
    auth = await createAuth({
      database: 'sqlite::memory:',
      secret: TEST_SECRET,
      mail: { transport: DISCARD_MAIL },
    })
    app = createServerApp(auth)
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await auth.close()
  })

  it('is OpenAPI 3.1 and documents every route of the router', async () => {
    const res = await fetch(`${url}/openapi.json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    type Layer = { route?: { path: string; methods: Record<string, boolean> } }
    const routes = (auth.router() as unknown as { stack: Layer[] }).stack.filter((l) => l.route)
    expect(routes.length).toBeGreaterThan(8)
    for (const layer of routes) {
      const path = toOpenAPIPath(`${auth.options.basePath}${layer.route!.path}`)
      for (const method of Object.keys(layer.route!.methods).filter((m) => m !== '_all')) {
        expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined()
      }
    }
    for (const root of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/jwks.json']) {
      expect(doc.paths[root]?.get, root).toBeDefined()
    }
  })

  it('documents every route the server app mounts at its root', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    type Layer = { route?: { path: string; methods: Record<string, boolean> } }
    const routes = (app as unknown as { router: { stack: Layer[] } }).router.stack.filter((l) => l.route)
    expect(routes.length).toBeGreaterThanOrEqual(5)
    for (const layer of routes) {
      const path = toOpenAPIPath(layer.route!.path)
      for (const method of Object.keys(layer.route!.methods).filter((m) => m !== '_all')) {
        expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined()
      }
    }
  })

  it('describes request bodies with the very schemas that validate them', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        { post: { requestBody: { content: { 'application/json': { schema: object } } } } }
      >
    }
    const documented = doc.paths['/auth/register']!.post.requestBody.content['application/json'].schema
    const { $schema: _ignored, ...expected } = z.toJSONSchema(registerSchema, { io: 'input' })
    expect(documented).toEqual(expected)
    // What the document calls required, the server refuses to go without.
    const missing = await request(`${url}/auth/register`, {
      body: { username: 'abc', email: 'a@b.io', fullname: 'A' },
    })
    expect(missing.body.code).toBe('validation_failed')
    expect((documented as { required: string[] }).required).toContain('password')
  })
})

describe('EVENTS_WEBHOOK_URL', () => {
  let running: RunningServer
  let dataDir: string
  let receiver: Server
  const received: { body: SecurityEvent; at: number }[] = []
  let attempts = 0

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => {
        body += d.toString()
      })
      req.on('end', () => {
        attempts++
        // The first attempt fails: the sender must retry.
        if (attempts === 1) {
          res.statusCode = 503
          res.end()
          return
        }
        received.push({ body: JSON.parse(body) as SecurityEvent, at: Date.now() })
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-webhook-'))
    running = await startServer({
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: 'sqlite::memory:',
      AUTH_SECRET: TEST_SECRET,
      LOG_LEVEL: 'silent',
      REFRESH_REUSE_GRACE: '0',
      EVENTS_WEBHOOK_URL: hook,
    })
  })
  afterAll(async () => {
    await running?.stop()
    rmSync(dataDir, { recursive: true, force: true })
    await new Promise((resolve) => receiver?.close(resolve))
  })

  it('POSTs refresh_reused without delaying the answer, retrying a failed delivery', async () => {
    const reg = await request<{ refreshToken: string; user: { id: string } }>(
      `${running.url}/auth/register`,
      {
        body: newUser(),
        headers: { 'x-auth-mode': 'bearer' },
      },
    )
    const first = await request(`${running.url}/auth/refresh`, {
      body: { refreshToken: reg.body.data.refreshToken },
    })
    expect(first.status).toBe(200)
    expect(attempts).toBe(0)
    const reused = await request(`${running.url}/auth/refresh`, {
      body: { refreshToken: reg.body.data.refreshToken },
    })
    const answeredAt = Date.now()
    expect(reused.body.code).toBe('refresh_token_reused')
    const deadline = Date.now() + 10_000
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(attempts).toBe(2)
    expect(received).toHaveLength(1)
    expect(received[0]!.body).toMatchObject({ type: 'refresh_reused', userId: reg.body.data.user.id })
    // The retry came after a back-off, well after the client had its answer.
    expect(received[0]!.at).toBeGreaterThan(answeredAt)
    expect(JSON.stringify(received[0]!.body)).not.toContain(reg.body.data.refreshToken)
    // The ready server also exports the process metrics, and counts what it saw.
    const metrics = await (await fetch(`${running.url}/metrics`)).text()
    expect(metrics).toContain('tokenpair_process_cpu_seconds_total')
    expect(metrics).toContain('tokenpair_refresh_reuse_detected_total 1')
  })
})
