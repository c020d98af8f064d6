import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { SecurityEvent } from '../../src/events/events.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* MAX_SESSIONS_PER_USER: past the cap, a new login revokes the least recently used sessions. */

let server: TestServer
const revoked: SecurityEvent[] = []
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false, maxSessionsPerUser: 2 })
  server.auth.events.subscribe((event) => {
    if (event.type === 'session_revoked') revoked.push(event)
  })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  vi.useRealTimers()
})

const T0 = Date.parse('2030-03-01T00:00:00Z')

function login(username: string, password: string) {
  return request<{ accessToken: string; refreshToken: string }>(`${server.url}/auth/login`, {
    body: { login: username, password },
    headers: { 'x-auth-mode': 'bearer' },
  })
}
const refresh = (refreshToken: string) =>
  request<{ refreshToken: string }>(`${server.url}/auth/refresh`, {
    body: { refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })
const sid = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string

describe('MAX_SESSIONS_PER_USER', () => {
  it('revokes the least recently used session when a login goes past the cap', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const first = await registerBearer(server.url)
    vi.setSystemTime(T0 + 1_000)
    const second = await login(first.username, first.password)
    // The first session is used again: now the second is the least recently used.
    vi.setSystemTime(T0 + 2_000)
    const firstRefreshed = await refresh(first.refreshToken)
    expect(firstRefreshed.status).toBe(200)
    vi.setSystemTime(T0 + 3_000)
    const third = await login(first.username, first.password)
    expect(third.status).toBe(200)

    const list = await request<{ id: string }[]>(`${server.url}/auth/sessions`, {
      headers: { authorization: `Bearer ${third.body.data.accessToken}` },
    })
    expect(list.body.data.map((s) => s.id).sort()).toEqual(
      [sid(first.accessToken), sid(third.body.data.accessToken)].sort(),
    )
    const evicted = await refresh(second.body.data.refreshToken)
    expect([evicted.status, evicted.body.code]).toEqual([401, 'invalid_refresh_token'])
    expect(revoked).toContainEqual(
      expect.objectContaining({ sessionId: sid(second.body.data.accessToken), reason: 'session_limit' }),
    )
    expect((await refresh(firstRefreshed.body.data.refreshToken)).status).toBe(200)
  })
})
