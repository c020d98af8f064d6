import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  API_ERROR_CODES,
  ClientError,
  createClient,
  SessionEndedError,
  type TokenpairClient,
} from '../../src/client/index.js'
import { ERROR_CODES } from '../../src/errors.js'
import { newUser } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/** Every request the client sends, as `METHOD path -> status`, seen on the wire by a wrapping fetch. */
function createRecordingFetch() {
  const log: string[] = []
  /** When each `METHOD path` was last sent. */
  const sentAt = new Map<string, number>()
  const recordingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    sentAt.set(`${request.method} ${new URL(request.url).pathname}`, Date.now())
    const res = await fetch(request)
    log.push(`${request.method} ${new URL(request.url).pathname} -> ${res.status}`)
    return res
  }
  return { log, sentAt, fetch: recordingFetch }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Waits until the access token has expired, plus a margin. The server shares this machine's clock,
 * so the exact expiry is used rather than the client's estimate (which is only good to about half a
 * second, the resolution of `Date`).
 */
async function waitForExpiry(client: TokenpairClient): Promise<void> {
  const expiresAt = client.getAccessTokenExpiresAt()
  if (expiresAt === null) throw new Error('client knows no expiry')
  await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 150)
}

const clients: TokenpairClient[] = []
function track(client: TokenpairClient): TokenpairClient {
  clients.push(client)
  return client
}

describe('client (bearer mode, real server)', () => {
  let server: TestServer
  // A two-second access token (`exp` is whole seconds, so it lives one to two seconds) and no
  // clock tolerance, so that expiry is real and quick.
  beforeAll(async () => {
    server = await startTestServer({ accessTokenTtl: '2s', clockTolerance: 0 })
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await server.close()
  })

  it('carries the list of error codes the server sends', () => {
    expect([...API_ERROR_CODES].sort()).toEqual([...ERROR_CODES].sort())
  })

  it('throws typed errors carrying the code, status and field errors', async () => {
    const client = track(createClient({ baseUrl: server.url, mode: 'bearer' }))
    const user = newUser()
    await client.register(user)
    const taken = await client.register({ ...newUser(), username: user.username }).catch((e: unknown) => e)
    expect(taken).toBeInstanceOf(ClientError)
    expect(taken).toMatchObject({ code: 'username_taken', status: 409 })

    const wrong = await client.login({ login: user.username, password: 'not the password' }).catch((e) => e)
    expect(wrong).toMatchObject({ name: 'ClientError', code: 'invalid_credentials', status: 401 })

    const invalid = await client.register({ ...newUser(), email: 'not-an-email' }).catch((e) => e)
    expect(invalid).toMatchObject({ code: 'validation_failed', status: 400 })
    expect((invalid as ClientError).errors.map((e) => e.path)).toContain('email')

    const unreachable = track(createClient({ baseUrl: 'http://127.0.0.1:9', mode: 'bearer' }))
    const network = await unreachable.login({ login: 'x', password: 'y'.repeat(8) }).catch((e) => e)
    expect(network).toMatchObject({ code: 'network_error', status: 0 })

    const signedOut = track(createClient({ baseUrl: server.url, mode: 'bearer' }))
    await expect(signedOut.me()).rejects.toMatchObject({ code: 'missing_token', status: 401 })
    await expect(signedOut.refresh()).rejects.toMatchObject({ code: 'not_signed_in' })
  })

  it('sends one refresh for ten parallel requests that all meet an expired token', async () => {
    const wire = createRecordingFetch()
    const client = track(
      createClient({ baseUrl: server.url, mode: 'bearer', fetch: wire.fetch, proactiveRefresh: false }),
    )
    const refreshes: string[] = []
    client.on('refresh', (e) => refreshes.push(e.source))
    const user = await client.register(newUser())
    await waitForExpiry(client)
    wire.log.length = 0

    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.fetch(`${server.url}/auth/me`).then((r) => r.json())),
    )
    expect(results.map((r) => r.data.id)).toEqual(Array(10).fill(user.id))
    expect(wire.log.filter((l) => l.startsWith('POST /auth/refresh'))).toEqual(['POST /auth/refresh -> 200'])
    // The proof that they raced: every first attempt met the expired token.
    expect(wire.log.filter((l) => l === 'GET /auth/me -> 401')).toHaveLength(10)
    expect(refreshes).toEqual(['this_tab'])
  })

  it('fails every waiter with one typed error and one onSessionEnd when the refresh is refused', async () => {
    const wire = createRecordingFetch()
    const ended: string[] = []
    const client = track(
      createClient({
        baseUrl: server.url,
        mode: 'bearer',
        fetch: wire.fetch,
        proactiveRefresh: false,
        onSessionEnd: (e) => ended.push(e.reason),
      }),
    )
    const user = newUser()
    await client.register(user)
    // Another device of the same user ends every session, this one included.
    const other = track(createClient({ baseUrl: server.url, mode: 'bearer' }))
    await other.login({ login: user.username, password: user.password })
    expect(await other.logoutAll()).toBe(2)
    await waitForExpiry(client)
    wire.log.length = 0

    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => client.fetch(`${server.url}/auth/sessions`)),
    )
    for (const o of outcomes) {
      expect(o.status).toBe('rejected')
      const reason = (o as PromiseRejectedResult).reason
      expect(reason).toBeInstanceOf(SessionEndedError)
      expect(reason).toMatchObject({ code: 'invalid_refresh_token', status: 401 })
    }
    expect(wire.log.filter((l) => l.startsWith('POST /auth/refresh'))).toEqual(['POST /auth/refresh -> 401'])
    expect(ended).toEqual(['invalid_refresh_token'])
    expect(client.isSignedIn()).toBe(false)
    expect(client.getTokens()).toBeNull()
  })

  it('bounds refresh attempts per minute, without touching the network past the bound', async () => {
    const wire = createRecordingFetch()
    let offset = 0
    const client = track(
      createClient({
        baseUrl: server.url,
        mode: 'bearer',
        fetch: wire.fetch,
        maxRefreshesPerMinute: 3,
        now: () => Date.now() + offset,
      }),
    )
    await client.register(newUser())
    for (let i = 0; i < 3; i++) await client.refresh()
    wire.log.length = 0
    const limited = await client.refresh().catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(ClientError)
    expect(limited).toMatchObject({ code: 'refresh_limit', status: 0 })
    expect(wire.log).toEqual([])
    // Still signed in: the bound stops a loop, it does not end the session.
    expect(client.isSignedIn()).toBe(true)
    offset += 61_000
    await client.refresh()
    expect(wire.log).toEqual(['POST /auth/refresh -> 200'])
  })
})

describe('client proactive refresh (real server, four-second tokens)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ accessTokenTtl: '4s', clockTolerance: 0 })
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await server.close()
  })

  it('refreshes shortly before expiry on its own', async () => {
    const wire = createRecordingFetch()
    const client = track(createClient({ baseUrl: server.url, mode: 'bearer', fetch: wire.fetch }))
    await client.register(newUser())
    const first = client.getAccessTokenExpiresAt()!
    const refreshed = new Promise<void>((resolve) => client.on('refresh', () => resolve()))
    expect(await Promise.race([refreshed.then(() => true), sleep(5000).then(() => false)])).toBe(true)
    expect(wire.log).toContain('POST /auth/refresh -> 200')
    // Same machine, same clock: the refresh left before the first token died (20% of its life early).
    expect(wire.sentAt.get('POST /auth/refresh')!).toBeLessThan(first.getTime())
    expect(wire.log.some((l) => l.endsWith('-> 401'))).toBe(false)
  })
})

describe('client clock skew (real server, client clock one hour behind)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ accessTokenTtl: '60s', clockTolerance: 0 })
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await server.close()
  })

  it('estimates the offset from the server and schedules by the server clock', async () => {
    const wire = createRecordingFetch()
    let offset = -3_600_000
    const client = track(
      createClient({
        baseUrl: server.url,
        mode: 'bearer',
        fetch: wire.fetch,
        now: () => Date.now() + offset,
      }),
    )
    await client.register(newUser())
    expect(Math.abs(client.getClockOffsetMs() - 3_600_000)).toBeLessThan(1_000)
    // Uncorrected, the local clock would see 61 minutes left.
    const remaining = client.getAccessTokenRemainingMs()!
    expect(remaining).toBeGreaterThan(58_000)
    expect(remaining).toBeLessThanOrEqual(61_000)

    // Sixty-one seconds later by the (corrected) client clock, the token is known expired: the
    // client refreshes before sending rather than have the request refused.
    offset += 61_000
    expect(client.getAccessTokenRemainingMs()!).toBeLessThan(0)
    wire.log.length = 0
    const res = await client.fetch(`${server.url}/auth/me`)
    expect(res.status).toBe(200)
    expect(wire.log).toEqual(['POST /auth/refresh -> 200', 'GET /auth/me -> 200'])
  })
})
