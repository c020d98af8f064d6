import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* An access token never outlives its session's absolute end (SESSION_MAX_AGE). */

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false, sessionMaxAge: '20m', accessTokenTtl: '15m' })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  vi.useRealTimers()
})

const T0 = Date.parse('2030-05-01T00:00:00Z')
const exp = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number

describe('the access token of a session near its end', () => {
  it('expires with the session, not ACCESS_TOKEN_TTL after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const user = await registerBearer(server.url)
    expect(exp(user.accessToken)).toBe(T0 / 1000 + 15 * 60)
    vi.setSystemTime(T0 + 10 * 60_000)
    const res = await request<{ accessToken: string; accessTokenExpiresAt: string; expiresIn: number }>(
      `${server.url}/auth/refresh`,
      { body: { refreshToken: user.refreshToken }, headers: { 'x-auth-mode': 'bearer' } },
    )
    expect(res.status).toBe(200)
    // 15 minutes from now would be 25 minutes into a 20-minute session.
    expect(exp(res.body.data.accessToken)).toBe(T0 / 1000 + 20 * 60)
    expect(Date.parse(res.body.data.accessTokenExpiresAt)).toBe(T0 + 20 * 60_000)
    expect(res.body.data.expiresIn).toBe(10 * 60)
  })
})
