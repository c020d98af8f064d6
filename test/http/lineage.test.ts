import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { SecurityEvent } from '../../src/events/events.js'
import { parseSetCookies, registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * One lineage per session (REFRESH_REUSE_GRACE = 10 s, the default): a used refresh token that
 * comes back within the grace window is answered with the very token its first use issued (or the
 * lineage's newest), never a new branch; so a session has one live refresh token, and a thief who
 * slips into the window shares it with the owner: whichever rotates next makes the other's next
 * use a detected reuse. Runs on SQLite, PostgreSQL and MariaDB (one project per database).
 */

let server: TestServer
const events: SecurityEvent[] = []
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
  server.auth.events.subscribe((event) => {
    events.push(event)
  })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  vi.useRealTimers()
})

const T0 = Date.parse('2030-01-01T00:00:00Z')
function freezeAt(ms: number) {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(ms)
}

interface Pair {
  accessToken: string
  refreshToken: string
  refreshTokenExpiresAt: string
}

function refresh(refreshToken: string) {
  return request<Pair>(`${server.url}/auth/refresh`, {
    body: { refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })
}

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string; jti: string }

async function sessionsOf(accessToken: string) {
  return request<{ id: string }[]>(`${server.url}/auth/sessions`, {
    headers: { authorization: `Bearer ${accessToken}` },
  })
}

describe('one lineage per session', () => {
  it('answers a reuse within the grace window with the identical refresh token and a new access token', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const first = await refresh(user.refreshToken)
    expect(first.status).toBe(200)
    vi.setSystemTime(T0 + 9_000)
    const again = await refresh(user.refreshToken)
    expect(again.status).toBe(200)
    expect(again.body.data.refreshToken).toBe(first.body.data.refreshToken)
    expect(again.body.data.refreshTokenExpiresAt).toBe(first.body.data.refreshTokenExpiresAt)
    expect(again.body.data.accessToken).not.toBe(first.body.data.accessToken)
    expect(claims(again.body.data.accessToken).sid).toBe(claims(first.body.data.accessToken).sid)
    // The one successor is still unused: it rotates normally.
    vi.setSystemTime(T0 + 60_000)
    expect((await refresh(first.body.data.refreshToken)).status).toBe(200)
  })

  it('reports a grace answer as refresh_grace, not as a rotation', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const sid = claims(user.accessToken).sid
    await refresh(user.refreshToken)
    vi.setSystemTime(T0 + 1_000)
    await refresh(user.refreshToken)
    const kinds = events.filter((e) => e.sessionId === sid).map((e) => e.type)
    expect(kinds).toEqual(['session_created', 'token_refreshed', 'refresh_grace'])
  })

  it('gives 20 parallel refreshes with one token exactly one distinct successor', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(user.refreshToken)))
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200))
    const successors = new Set(results.map((r) => r.body.data.refreshToken))
    expect(successors.size).toBe(1)
    expect(new Set(results.map((r) => claims(r.body.data.accessToken).sid)).size).toBe(1)
    const [successor] = [...successors]
    const listed = await sessionsOf(results[0]!.body.data.accessToken)
    expect(listed.body.data).toHaveLength(1)
    expect(successor).not.toBe(user.refreshToken)
  })

  it('after the grace window refuses every used token and revokes the session', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const a = await refresh(user.refreshToken)
    vi.setSystemTime(T0 + 20_000)
    const b = await refresh(a.body.data.refreshToken)
    expect(b.status).toBe(200)
    vi.setSystemTime(T0 + 40_000)
    const reused = await refresh(a.body.data.refreshToken)
    expect([reused.status, reused.body.code]).toEqual([401, 'refresh_token_reused'])
    for (const token of [user.refreshToken, a.body.data.refreshToken, b.body.data.refreshToken]) {
      const res = await refresh(token)
      expect([res.status, res.body.code]).toEqual([401, 'invalid_refresh_token'])
    }
    expect((await sessionsOf(b.body.data.accessToken)).body.code).toBe('session_revoked')
  })

  it('sees a theft: a replay inside the window shares the token, and the next rotation exposes the other holder', async () => {
    freezeAt(T0)
    const owner = await registerBearer(server.url)
    const stolen = owner.refreshToken
    // The owner rotates; the thief replays the stolen (now used) token inside the window and is
    // handed the owner's own successor, not a branch of its own.
    const ownerPair = await refresh(owner.refreshToken)
    vi.setSystemTime(T0 + 5_000)
    const thiefPair = await refresh(stolen)
    expect(thiefPair.status).toBe(200)
    expect(thiefPair.body.data.refreshToken).toBe(ownerPair.body.data.refreshToken)
    // The owner's next rotation, a quarter of an hour later...
    vi.setSystemTime(T0 + 15 * 60_000)
    const ownerNext = await refresh(ownerPair.body.data.refreshToken)
    expect(ownerNext.status).toBe(200)
    // ...makes the thief's next use, after that rotation's grace, a detected reuse.
    vi.setSystemTime(T0 + 15 * 60_000 + 11_000)
    const thiefNext = await refresh(thiefPair.body.data.refreshToken)
    expect([thiefNext.status, thiefNext.body.code]).toEqual([401, 'refresh_token_reused'])
    // The session is revoked for the owner too: theft seen, both holders out.
    const ownerAfter = await refresh(ownerNext.body.data.refreshToken)
    expect([ownerAfter.status, ownerAfter.body.code]).toEqual([401, 'invalid_refresh_token'])
    expect((await sessionsOf(ownerNext.body.data.accessToken)).body.code).toBe('session_revoked')
  })

  it('leads a token through the lineage to its newest token within its window', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const a = await refresh(user.refreshToken)
    vi.setSystemTime(T0 + 3_000)
    const b = await refresh(a.body.data.refreshToken)
    vi.setSystemTime(T0 + 6_000)
    const late = await refresh(user.refreshToken)
    expect(late.status).toBe(200)
    expect(late.body.data.refreshToken).toBe(b.body.data.refreshToken)
  })

  it('sets the same refresh cookie on a cookie-mode grace answer', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const headers = {
      cookie: `refreshToken=${user.refreshToken}`,
      origin: server.url,
      'x-auth-mode': 'cookie',
    }
    const first = await request(`${server.url}/auth/refresh`, { method: 'POST', headers })
    vi.setSystemTime(T0 + 2_000)
    const again = await request(`${server.url}/auth/refresh`, { method: 'POST', headers })
    expect([first.status, again.status]).toEqual([200, 200])
    const cookieOf = (res: typeof first) => parseSetCookies(res.setCookies).get('refreshToken')?.value
    expect(cookieOf(again)).toBeTruthy()
    expect(cookieOf(again)).toBe(cookieOf(first))
    expect(again.body.data.refreshToken).toBeUndefined()
  })
})
