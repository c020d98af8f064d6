import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { readRateLimitEnv, readServerConfig } from '../../src/config/env.js'
import { RateLimitError } from '../../src/errors.js'
import { deriveClientKey } from '../../src/limits/client-key.js'
import { resolveRateLimits } from '../../src/limits/rate-limit-settings.js'
import { RateLimits } from '../../src/limits/rate-limits.js'
import { newUser, registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { login, REDIS_URL, requireRedis, uniquePrefix } from './support.js'

const silent = { info() {}, warn() {}, error() {} }

describe('login limits (memory), client IP from X-Forwarded-For behind a trusted proxy', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({
      trustProxy: true,
      rateLimit: { loginPair: '3/1h', loginName: '5/1h', loginIp: '6/1h' },
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('refuses the right password once a name+IP pair has spent its failures, with Retry-After', async () => {
    const user = await registerBearer(server.url)
    for (let i = 0; i < 3; i++) {
      const res = await login(server.url, { login: user.username, password: 'wrong password!' }, '10.0.0.1')
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_credentials')
    }
    const limited = await login(server.url, { login: user.username, password: user.password }, '10.0.0.1')
    expect(limited.status).toBe(429)
    expect(limited.body.code).toBe('rate_limited')
    expect(limited.body.data).toBeNull()
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(3500)
    expect(retryAfter).toBeLessThanOrEqual(3600)
    // The same name from another address is not that pair: it still logs in.
    const elsewhere = await login(server.url, { login: user.username, password: user.password }, '10.0.0.2')
    expect(elsewhere.status).toBe(200)
  })

  it('counts wrong current passwords at change-password against the same limits', async () => {
    const user = await registerBearer(server.url)
    const headers = { authorization: `Bearer ${user.accessToken}`, 'x-forwarded-for': '10.0.9.1' }
    for (let i = 0; i < 3; i++) {
      const res = await request(`${server.url}/auth/change-password`, {
        body: { currentPassword: 'wrong password!', newPassword: 'another password 1' },
        headers,
      })
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_credentials')
    }
    const limited = await request(`${server.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'another password 1' },
      headers,
    })
    expect(limited.status).toBe(429)
    expect(limited.body.code).toBe('rate_limited')
    // The refused change changed nothing: the old password still logs in from elsewhere.
    expect(
      (await login(server.url, { login: user.username, password: user.password }, '10.0.9.2')).status,
    ).toBe(200)
  })

  it('counts the login name case- and space-insensitively', async () => {
    const user = await registerBearer(server.url)
    for (const name of [user.username.toUpperCase(), ` ${user.username}`, user.email]) {
      await login(server.url, { login: name, password: 'wrong password!' }, '10.0.1.1')
    }
    // email and username are different names; the first two are the same one.
    const byName = await login(server.url, { login: user.username, password: 'wrong password!' }, '10.0.1.1')
    expect(byName.status).toBe(401)
    const limited = await login(server.url, { login: user.username, password: user.password }, '10.0.1.1')
    expect(limited.status).toBe(429)
  })

  it('a successful login resets the pair counter', async () => {
    const user = await registerBearer(server.url)
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) {
        expect(
          (await login(server.url, { login: user.username, password: 'nope nope' }, '10.0.2.1')).status,
        ).toBe(401)
      }
      expect(
        (await login(server.url, { login: user.username, password: user.password }, '10.0.2.1')).status,
      ).toBe(200)
    }
  })

  it('limits failures per login name across addresses', async () => {
    const user = await registerBearer(server.url)
    for (let i = 0; i < 5; i++) {
      const res = await login(
        server.url,
        { login: user.username, password: 'wrong password!' },
        `10.1.0.${i}`,
      )
      expect(res.status).toBe(401)
    }
    const res = await login(server.url, { login: user.username, password: user.password }, '10.1.0.99')
    expect(res.status).toBe(429)
  })

  it('limits failures per IP across login names (password spraying)', async () => {
    const user = await registerBearer(server.url)
    for (let i = 0; i < 6; i++) {
      const res = await login(
        server.url,
        { login: `nobody_${i}_${Date.now()}`, password: 'Spring2026!' },
        '10.2.0.1',
      )
      expect(res.status).toBe(401)
    }
    const res = await login(server.url, { login: user.username, password: user.password }, '10.2.0.1')
    expect(res.status).toBe(429)
  })

  it('counts a burst of parallel guesses atomically: at most the limit reaches the password check', async () => {
    const user = await registerBearer(server.url)
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        login(server.url, { login: user.username, password: 'parallel guess' }, '10.3.0.1'),
      ),
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(3)
    expect(statuses.filter((s) => s === 429)).toHaveLength(9)
  })

  it('an IPv6 client counts by its /64: changing the interface id does not escape the limit', async () => {
    const user = await registerBearer(server.url)
    for (let i = 1; i <= 3; i++) {
      await login(server.url, { login: user.username, password: 'wrong password!' }, `2001:db8:1:2::${i}`)
    }
    const res = await login(
      server.url,
      { login: user.username, password: user.password },
      '2001:db8:1:2:ffff::9',
    )
    expect(res.status).toBe(429)
  })

  it('limits registrations and refreshes per IP', async () => {
    const server = await startTestServer({
      trustProxy: true,
      rateLimit: { register: '3/1h', refresh: '3/1m' },
    })
    onTestFinished(() => server.close())
    const results = []
    for (let i = 0; i < 4; i++) {
      results.push(
        await request(`${server.url}/auth/register`, {
          body: newUser(),
          headers: { 'x-auth-mode': 'bearer', 'x-forwarded-for': '10.4.0.1' },
        }),
      )
    }
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 429])
    expect(Number(results[3]!.headers.get('retry-after'))).toBeGreaterThan(0)
    const other = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer', 'x-forwarded-for': '10.4.0.2' },
    })
    expect(other.status).toBe(201)

    // Refresh: honoured tokens give their point back (a normal client is never limited); refused
    // ones accumulate, and past the limit even a good token waits.
    let token = (other.body.data as { refreshToken: string }).refreshToken
    const refresh = (refreshToken: string) =>
      request<{ refreshToken: string }>(`${server.url}/auth/refresh`, {
        body: { refreshToken },
        headers: { 'x-auth-mode': 'bearer', 'x-forwarded-for': '10.4.0.3' },
      })
    for (let i = 0; i < 5; i++) {
      const res = await refresh(token)
      expect(res.status).toBe(200)
      token = res.body.data.refreshToken
    }
    const forged = `${token.slice(0, -4)}AAAA`
    const refused = []
    for (let i = 0; i < 4; i++) refused.push((await refresh(forged)).status)
    expect(refused).toEqual([401, 401, 401, 429])
    expect((await refresh(token)).status).toBe(429)
  })
})

describe('without TRUST_PROXY, X-Forwarded-For is ignored', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ trustProxy: false, rateLimit: { loginPair: '2/1h' } })
  })
  afterAll(async () => {
    await server.close()
  })

  it('a forged X-Forwarded-For does not give a fresh bucket', async () => {
    const user = await registerBearer(server.url)
    for (let i = 0; i < 2; i++) {
      await login(server.url, { login: user.username, password: 'wrong password!' }, `192.0.2.${i}`)
    }
    const res = await login(server.url, { login: user.username, password: user.password }, '192.0.2.77')
    expect(res.status).toBe(429)
  })
})

describe('rateLimit: false', () => {
  it('turns every limit off (benchmarks)', async () => {
    const server = await startTestServer({ rateLimit: false })
    try {
      const user = await registerBearer(server.url)
      for (let i = 0; i < 12; i++) {
        expect((await login(server.url, { login: user.username, password: 'wrong password!' })).status).toBe(
          401,
        )
      }
      expect((await login(server.url, { login: user.username, password: user.password })).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('password-reset request limiter (for issue 8)', () => {
  it('limits per address and per IP, and says when to retry', async () => {
    const limits = await RateLimits.create(
      resolveRateLimits({ resetRequestIp: '4/1h', resetRequestAddress: '2/1h' }),
      silent,
    )
    await limits.consumePasswordResetRequest('10.9.0.1', 'a@example.com')
    await limits.consumePasswordResetRequest('10.9.0.2', ' A@Example.com ')
    const error = await limits
      .consumePasswordResetRequest('10.9.0.3', 'a@example.com')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RateLimitError)
    expect((error as RateLimitError).retryAfterSeconds).toBeGreaterThan(3500)
    await limits.consumePasswordResetRequest('10.9.0.1', 'b@example.com')
    await limits.consumePasswordResetRequest('10.9.0.1', 'c@example.com')
    await limits.consumePasswordResetRequest('10.9.0.1', 'd@example.com')
    await expect(limits.consumePasswordResetRequest('10.9.0.1', 'e@example.com')).rejects.toBeInstanceOf(
      RateLimitError,
    )
    await limits.close()
  })
})

describe('settings', () => {
  it('reads the environment: RATE_LIMIT=off, one limit per variable, REDIS_URL', () => {
    expect(readRateLimitEnv({ RATE_LIMIT: 'off' })).toBe(false)
    expect(
      readRateLimitEnv({
        RATE_LIMIT_LOGIN_PAIR: '5/15m',
        RATE_LIMIT_REFRESH: 'off',
        REDIS_URL: 'redis://h:1',
      }),
    ).toEqual({ loginPair: '5/15m', refresh: false, redisUrl: 'redis://h:1' })
    expect(() => readRateLimitEnv({ RATE_LIMIT_LOGIN_IP: 'lots' })).toThrow(/RATE_LIMIT_LOGIN_IP/)
    expect(() => readRateLimitEnv({ RATE_LIMIT_LOGIN_IP: '0/1h' })).toThrow(/RATE_LIMIT_LOGIN_IP/)
    expect(() => readRateLimitEnv({ RATE_LIMIT: 'maybe' })).toThrow(/RATE_LIMIT/)
    expect(() => readRateLimitEnv({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/)
    expect(() => resolveRateLimits({ loginPair: { points: 1.5, duration: '1h' } })).toThrow(/loginPair/)
    expect(resolveRateLimits({ loginPair: { points: 4, duration: '90s' } }).loginPair).toEqual({
      points: 4,
      durationSeconds: 90,
    })
  })

  it('the server reads RATE_LIMIT, COOKIE_PREFIX and SESSION_CHECK_CACHE_TTL', () => {
    expect(readServerConfig({ RATE_LIMIT: 'off' }).auth.rateLimit).toBe(false)
    expect(readServerConfig({ RATE_LIMIT_REGISTER: '5/1h' }).auth.rateLimit).toEqual({ register: '5/1h' })
    const config = readServerConfig({ COOKIE_PREFIX: 'host', SESSION_CHECK_CACHE_TTL: '5s' })
    expect(config.auth).toMatchObject({ cookiePrefix: 'host', sessionCheckCacheTtl: '5s' })
    expect(() => readServerConfig({ COOKIE_PREFIX: 'host', COOKIE_SECURE: 'false' })).toThrow(/COOKIE_PREFIX/)
    expect(() => readServerConfig({ COOKIE_PREFIX: 'sometimes' })).toThrow(/COOKIE_PREFIX/)
    expect(() => readServerConfig({ SESSION_CHECK_CACHE_TTL: 'soon' })).toThrow(/SESSION_CHECK_CACHE_TTL/)
  })

  it('keys clients by IPv4, IPv4-mapped IPv6 as IPv4, and IPv6 by /64', () => {
    expect(deriveClientKey('203.0.113.9')).toBe('203.0.113.9')
    expect(deriveClientKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(deriveClientKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64')
    expect(deriveClientKey('2001:0db8:0000:0001:abcd::7')).toBe('2001:db8:0:1::/64')
    expect(deriveClientKey('::1')).toBe('0:0:0:0::/64')
    expect(deriveClientKey(undefined)).toBe('unknown')
    expect(deriveClientKey('not an ip')).toBe('unknown')
  })
})

const redisUp = await requireRedis('test/security/rate-limit.test.ts')

describe.skipIf(!redisUp)('login limits in Redis', () => {
  it('two instances sharing Redis enforce one login limit together', async () => {
    const keyPrefix = uniquePrefix('pair')
    // A client that is ready before the first login: with `redisUrl` the limiters connect in the
    // background and count in memory until then, which a loaded machine would turn into a race.
    const redis = new Redis(REDIS_URL)
    onTestFinished(() => void redis.quit())
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', () => resolve())
      redis.once('error', reject)
    })
    const rateLimit = { redis, keyPrefix, loginPair: '4/1h' }
    const a = await startTestServer({ rateLimit })
    // The second instance opens the first one's database: one user, two servers.
    const b = await startTestServer({ rateLimit, database: a.auth.storage })
    try {
      const user = await registerBearer(a.url)
      const statuses: number[] = []
      for (let i = 0; i < 4; i++) {
        const target = i % 2 === 0 ? a : b
        statuses.push((await login(target.url, { login: user.username, password: 'wrong password!' })).status)
      }
      expect(statuses).toEqual([401, 401, 401, 401])
      // Each instance alone has seen only two failures; together they have seen the limit.
      expect((await login(a.url, { login: user.username, password: user.password })).status).toBe(429)
      expect((await login(b.url, { login: user.username, password: user.password })).status).toBe(429)
    } finally {
      await b.close()
      await a.close()
    }
  })

  it('a Redis that goes away falls back to per-instance memory counters: never a 500', async () => {
    const proxy = await startTCPProxy(new URL(REDIS_URL))
    const logs: string[] = []
    const logger = {
      info: (_o: object, m?: string) => logs.push(`info ${m}`),
      warn: (_o: object, m?: string) => logs.push(`warn ${m}`),
      error: (_o: object, m?: string) => logs.push(`error ${m}`),
    }
    const server = await startTestServer({
      logger,
      rateLimit: {
        redisUrl: `redis://127.0.0.1:${proxy.port}`,
        keyPrefix: uniquePrefix('down'),
        loginPair: '3/1h',
      },
    })
    try {
      const user = await registerBearer(server.url)
      await waitFor(
        async () =>
          (await login(server.url, { login: user.username, password: user.password })).status === 200,
      )
      expect((await login(server.url, { login: user.username, password: 'wrong password!' })).status).toBe(
        401,
      )
      await proxy.close()
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) {
        statuses.push((await login(server.url, { login: user.username, password: 'wrong password!' })).status)
      }
      expect(statuses).not.toContain(500)
      // The memory insurance counts from zero: three failures pass, then the limit holds.
      expect(statuses).toEqual([401, 401, 401, 429, 429])
      expect(logs.some((l) => l.startsWith('warn') && /Redis/.test(l))).toBe(true)
    } finally {
      await server.close()
      await proxy.close()
    }
  })
})

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('condition not met')
}

/** A loopback TCP proxy to Redis that the test can cut, with every connection through it. */
async function startTCPProxy(target: URL): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: target.hostname, port: Number(target.port || 6379) })
    sockets.add(client)
    sockets.add(upstream)
    client.pipe(upstream).pipe(client)
    const drop = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let closed = false
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      if (closed) return
      closed = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
