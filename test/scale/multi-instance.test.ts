import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newUser, request } from '../helpers/http.js'
import { createDatabaseOn, type TestDatabase, testServerURL } from '../helpers/test-database.js'
import { type Instance, REDIS_URL, requireServices, runCLI, startInstance } from './cluster.js'

// Three `tokenpair serve` processes on one PostgreSQL and one Redis, a client spreading requests
// across them (issue 7, "Several instances"). Grace 0, so the single-use rule is exact.
const LOGIN_PAIR_LIMIT = 4

interface Pair {
  accessToken: string
  refreshToken: string
}

const available = await requireServices('test/scale/multi-instance.test.ts')

describe.skipIf(!available)('three instances on one PostgreSQL and one Redis', () => {
  let database: TestDatabase
  let instances: Instance[] = []
  let env: Record<string, string>
  let dataDir: string

  beforeAll(async () => {
    database = await createDatabaseOn(testServerURL('postgres'))
    dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-scale-'))
    env = {
      DATABASE_URL: database.url,
      // Mail of the registrations goes to a temporary outbox, not into the work tree.
      DATA_DIR: dataDir,
      AUTH_SECRET: randomBytes(36).toString('base64url'),
      REDIS_URL,
      COOKIE_SECURE: 'false',
      REFRESH_REUSE_GRACE: '0',
      KEY_RELOAD_INTERVAL: '500ms',
      // Counters in Redis are shared with every other test run on this machine: only the login
      // limits keyed by this file's own user names stay on.
      RATE_LIMIT_LOGIN_PAIR: `${LOGIN_PAIR_LIMIT}/1h`,
      RATE_LIMIT_LOGIN_NAME: '1000/1h',
      RATE_LIMIT_LOGIN_IP: 'off',
      RATE_LIMIT_REGISTER: 'off',
      RATE_LIMIT_REFRESH: 'off',
    }
    // The first one migrates and makes the first key; the other two start together.
    instances = [await startInstance(env)]
    instances.push(...(await Promise.all([startInstance(env), startInstance(env)])))
  }, 150_000)

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()))
    await database?.drop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  const live = () => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null)

  async function register(instance: Instance): Promise<Pair & { username: string }> {
    const user = newUser()
    const res = await request<Pair>(`${instance.url}/auth/register`, {
      body: user,
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(res.status).toBe(201)
    return { username: user.username, ...res.body.data }
  }

  function refresh(instance: Instance, refreshToken: string) {
    return request<Pair>(`${instance.url}/auth/refresh`, {
      body: { refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
  }

  it('a refresh storm with parallel reuse across instances honours each token once', async () => {
    const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => register(instances[i % 3]!)))
    // Each token presented 6 times at once, twice on each instance.
    const outcomes = await Promise.all(
      sessions.map(async (session) => {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => refresh(instances[i % 3]!, session.refreshToken)),
        )
        return results
      }),
    )
    for (const results of outcomes) {
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(1)
      expect(statuses.filter((s) => s !== 200 && s !== 401)).toEqual([])
      // The reuse revoked the session: the winner's new token is dead too, on every instance.
      const winner = results.find((r) => r.status === 200)!.body.data
      for (const instance of instances) {
        const again = await refresh(instance, winner.refreshToken)
        expect(again.status).toBe(401)
      }
    }
  }, 60_000)

  it('login limits are shared: failures on one instance count on the others', async () => {
    const { username } = await register(instances[0]!)
    const fail = (instance: Instance) =>
      request(`${instance.url}/auth/login`, {
        body: { login: username, password: 'not the password at all' },
        headers: { 'x-auth-mode': 'bearer' },
      })
    for (let i = 0; i < LOGIN_PAIR_LIMIT; i++) {
      expect((await fail(instances[i % 3]!)).status).toBe(401)
    }
    // Each instance alone has seen at most 2 failures; only a shared counter is spent.
    for (const instance of instances) {
      const res = await fail(instance)
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    }
  }, 60_000)

  it('a key rotation reaches all three', async () => {
    const before = decodeProtectedHeader((await register(instances[0]!)).accessToken).kid
    await runCLI(['keys', 'rotate'], env)
    // Each instance re-reads the keys every KEY_RELOAD_INTERVAL (500 ms): poll, bounded.
    const deadline = Date.now() + 15_000
    const kids = new Map<Instance, string>()
    while (kids.size < instances.length && Date.now() < deadline) {
      for (const instance of instances) {
        const pair = await register(instance)
        const kid = decodeProtectedHeader(pair.accessToken).kid!
        if (kid !== before) kids.set(instance, kid)
      }
    }
    expect(kids.size).toBe(3)
    const [newKid] = [...new Set(kids.values())]
    expect(new Set(kids.values()).size).toBe(1)
    for (const instance of instances) {
      const jwks = (await request<never>(`${instance.url}/.well-known/jwks.json`)).body as unknown as {
        keys: { kid: string }[]
      }
      const published = jwks.keys.map((k) => k.kid)
      // The new key signs; the old one still verifies the tokens it signed.
      expect(published).toContain(newKid)
      expect(published).toContain(before)
    }
    // A token signed by one instance is accepted by the others.
    const token = (await register(instances[1]!)).accessToken
    for (const instance of instances) {
      const me = await request(`${instance.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
      expect(me.status).toBe(200)
    }
  }, 60_000)

  it('kill -9 of one instance under load loses no committed session and no token is usable twice', async () => {
    const chains = await Promise.all(Array.from({ length: 9 }, (_, i) => register(instances[i % 3]!)))
    /** Every 200 each refresh token earned, over the whole test. */
    const wins = new Map<string, number>()
    const current = chains.map((c) => c.refreshToken)
    const victim = instances[2]!
    let killed = false
    let stopAt = Date.now() + 4000
    const killer = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      await victim.kill()
      killed = true
      stopAt = Date.now() + 1500
    })()
    let turn = 0
    /** Chains that had a request in flight on the victim when it died. */
    const interrupted = new Set<number>()
    /** Chains ended by a 401: allowed only after such an interruption (the victim committed). */
    const ended = new Set<number>()
    await Promise.all(
      chains.map(async (_, c) => {
        while (Date.now() < stopAt) {
          const instance = instances[turn++ % 3]!
          const token = current[c]!
          let res: Awaited<ReturnType<typeof refresh>>
          try {
            res = await refresh(instance, token)
          } catch {
            // The victim died with this request in flight: it may or may not have committed.
            // The client tries the same token elsewhere: 200 if it did not, 401 if it did.
            if (instance === victim) interrupted.add(c)
            continue
          }
          expect([200, 401]).toContain(res.status)
          if (res.status !== 200) {
            ended.add(c)
            break
          }
          wins.set(token, (wins.get(token) ?? 0) + 1)
          current[c] = res.body.data.refreshToken
        }
      }),
    )
    await killer
    expect(killed).toBe(true)
    const survivors = live()
    expect(survivors).toHaveLength(2)
    // No token was honoured twice, and the load did run.
    for (const count of wins.values()) expect(count).toBe(1)
    expect(wins.size).toBeGreaterThan(chains.length)
    for (const c of ended) expect(interrupted.has(c)).toBe(true)
    // Every chain whose last answer was a 200 still has its session, on either survivor.
    expect(ended.size).toBeLessThan(chains.length)
    for (const [c, token] of current.entries()) {
      if (ended.has(c)) continue
      const res = await refresh(survivors[c % 2]!, token)
      expect(res.status).toBe(200)
      wins.set(token, 1)
    }
    // Every token that was ever honoured is refused now, on every surviving instance.
    for (const token of wins.keys()) {
      for (const instance of survivors) {
        expect((await refresh(instance, token)).status).toBe(401)
      }
    }
  }, 90_000)
})
