import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokedSessionsSchema } from '../../src/protocol/wire-schemas.js'
import { createVerifier, type Verifier } from '../../src/verify/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { TEST_SECRET } from '../helpers/test-server.js'
import { type Instance, startInstance } from '../scale/cluster.js'

/** A service with no database: the verifier alone guards its route. */
async function startService(verifier: Verifier) {
  const app = express()
  app.get('/notes', verifier.requireAuth(), (req, res) => {
    res.json({ userId: req.auth!.userId })
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

const sidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid

/** Polls `check` every 50 ms until it holds; resolves with the milliseconds it took. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('revocation that reaches other services', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-feed-'))
  let instance: Instance
  let verifier: Verifier
  let service: Awaited<ReturnType<typeof startService>>

  beforeAll(async () => {
    // The auth server in a process of its own; the service and its verifier in this one.
    instance = await startInstance({
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`,
      AUTH_SECRET: TEST_SECRET,
      RATE_LIMIT: 'off',
    })
    verifier = createVerifier({
      jwksUrl: `${instance.url}/.well-known/jwks.json`,
      issuer: 'tokenpair',
      audience: 'tokenpair',
      revocations: true,
    })
    service = await startService(verifier)
  }, 90_000)
  afterAll(async () => {
    verifier?.close()
    service?.server.close()
    await instance?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const callService = (token: string) =>
    request(`${service.url}/notes`, { headers: { authorization: `Bearer ${token}` } })

  it('refuses the unexpired access tokens of a logout-all within the default poll interval (5 s) + 1 s', async () => {
    const victim = await registerBearer(instance.url)
    const bystander = await registerBearer(instance.url)
    expect((await callService(victim.accessToken)).status).toBe(200)
    expect((await callService(bystander.accessToken)).status).toBe(200)

    const logout = await request(`${instance.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${victim.accessToken}` },
    })
    expect(logout.status).toBe(200)
    const took = await waitUntil(async () => (await callService(victim.accessToken)).status !== 200, 10_000)
    expect(took).toBeLessThanOrEqual(6000)
    const refused = await callService(victim.accessToken)
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('session_revoked')
    expect((await callService(bystander.accessToken)).status).toBe(200)
  }, 30_000)

  it('serves the feed bare, cacheable, at the root and under the router, listing the revoked sid only', async () => {
    const victim = await registerBearer(instance.url)
    const bystander = await registerBearer(instance.url)
    await request(`${instance.url}/auth/logout`, { body: { refreshToken: victim.refreshToken } })
    for (const path of ['/.well-known/revoked-sessions', '/auth/.well-known/revoked-sessions']) {
      const res = await fetch(`${instance.url}${path}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d$/)
      const feed = revokedSessionsSchema.strict().parse(await res.json())
      const sids = feed.sessions.map((s) => s.sid)
      expect(sids).toContain(sidOf(victim.accessToken))
      expect(sids).not.toContain(sidOf(bystander.accessToken))
      // The window is the access-token lifetime (15 min) plus the clock leeway (5 s).
      expect(Date.parse(feed.until) - Date.parse(feed.since)).toBe(15 * 60_000 + 5000)
    }
  })

  it('answers 503 unavailable, not 200, while the feed cannot be read', async () => {
    const victim = await registerBearer(instance.url)
    const blind = createVerifier({
      jwksUrl: `${instance.url}/.well-known/jwks.json`,
      issuer: 'tokenpair',
      audience: 'tokenpair',
      revocations: true,
      revocationsUrl: `${instance.url}/no-such-feed`,
    })
    const other = await startService(blind)
    try {
      const res = await request(`${other.url}/notes`, {
        headers: { authorization: `Bearer ${victim.accessToken}` },
      })
      expect(res.status).toBe(503)
      expect(res.body.code).toBe('unavailable')
    } finally {
      blind.close()
      other.server.close()
    }
  })
})
