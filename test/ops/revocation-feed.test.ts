import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokedSessionsSchema } from '../../src/protocol/wire-schemas.js'
import { createVerifier, type Verifier, type VerifierOptions } from '../../src/verify/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { REDIS_URL, requireRedis } from '../helpers/redis.js'
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

/**
 * The auth server in a process of its own (`env` added to its environment) and, in this one, a
 * service guarded by a verifier with `revocations: true` and `options`: started before the cases
 * of the enclosing describe, stopped after them.
 */
function useAuthAndService(env: Record<string, string>, options: Partial<VerifierOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-feed-'))
  const parts = {} as {
    instance: Instance
    verifier: Verifier
    service: Awaited<ReturnType<typeof startService>>
  }
  beforeAll(async () => {
    parts.instance = await startInstance({
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`,
      AUTH_SECRET: TEST_SECRET,
      ...env,
    })
    parts.verifier = createVerifier({
      jwksUrl: `${parts.instance.url}/.well-known/jwks.json`,
      issuer: 'tokenpair',
      audience: 'tokenpair',
      revocations: true,
      ...options,
    })
    parts.service = await startService(parts.verifier)
  }, 90_000)
  afterAll(async () => {
    parts.verifier?.close()
    parts.service?.server.close()
    await parts.instance?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  // The URLs are known once beforeAll ran: read them through getters.
  return {
    instance: {
      get url() {
        return parts.instance.url
      },
    },
    service: {
      get url() {
        return parts.service.url
      },
    },
  }
}

describe('revocation that reaches other services', () => {
  const { instance, service } = useAuthAndService({ RATE_LIMIT: 'off' })

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

const redisUp = await requireRedis('test/ops/revocation-feed.test.ts')

describe.runIf(redisUp)('revocation that reaches other services, announced on Redis', () => {
  // Polling alone would take a minute: only the Redis announcement can explain a quick refusal.
  const { instance, service } = useAuthAndService(
    { REDIS_URL },
    { revocationPollInterval: '1m', redisUrl: REDIS_URL },
  )
  const publisher = new Redis(REDIS_URL)
  afterAll(async () => {
    await publisher.quit()
  })

  /** How many times the auth server answered its revocation feed. */
  async function feedReads(): Promise<number> {
    const text = await (await fetch(`${instance.url}/metrics`)).text()
    const line = text
      .split('\n')
      .find((l) =>
        l.startsWith(
          'tokenpair_http_request_duration_seconds_count{method="GET",route="/.well-known/revoked-sessions",status="200"}',
        ),
      )
    return line ? Number(line.split(' ').pop()) : 0
  }

  it('refuses a logged-out session within a second or two, long before the next poll', async () => {
    const victim = await registerBearer(instance.url)
    const call = () =>
      request(`${service.url}/notes`, { headers: { authorization: `Bearer ${victim.accessToken}` } })
    expect((await call()).status).toBe(200)
    // The verifier is listening once an announcement makes it read the feed.
    const before = await feedReads()
    await waitUntil(async () => {
      await publisher.publish('tokenpair:revocations', 'test')
      return (await feedReads()) > before
    }, 10_000)

    const logout = await request(`${instance.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${victim.accessToken}` },
    })
    expect(logout.status).toBe(200)
    const took = await waitUntil(async () => (await call()).status !== 200, 10_000)
    expect(took).toBeLessThanOrEqual(2000)
    expect((await call()).body.code).toBe('session_revoked')
  }, 40_000)
})
