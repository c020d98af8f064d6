import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseSetCookies, registerBearer, request } from '../helpers/http.js'
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

const T0 = Date.parse('2030-01-01T00:00:00Z')
function freezeAt(ms: number) {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(ms)
}

function refresh(refreshToken: string, path = '/auth/refresh') {
  return request<{ accessToken: string; refreshToken: string; refreshTokenExpiresAt: string }>(
    `${server.url}${path}`,
    {
      body: { refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    },
  )
}

function me(accessToken: string) {
  return request(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } })
}

describe('POST /auth/refresh', () => {
  it('rotates: a new pair, the old refresh token single-use, the new access token works', async () => {
    const user = await registerBearer(server.url)
    const first = await refresh(user.refreshToken)
    expect(first.status).toBe(200)
    expect(first.body.message).toBe('Access token is updated')
    expect(first.body.data.refreshToken).not.toBe(user.refreshToken)
    expect(first.body.data.accessToken).not.toBe(user.accessToken)
    expect((await me(first.body.data.accessToken)).status).toBe(200)
    expect((await refresh(first.body.data.refreshToken)).status).toBe(200)
  })

  it('is also served as /auth/update-token, the reference design name', async () => {
    const user = await registerBearer(server.url)
    const res = await refresh(user.refreshToken, '/auth/update-token')
    expect(res.status).toBe(200)
    expect(typeof res.body.data.accessToken).toBe('string')
  })

  it('answers missing_refresh_token without a token, with a bare Bearer challenge', async () => {
    const res = await request(`${server.url}/auth/refresh`, { method: 'POST' })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('missing_refresh_token')
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
  })

  it('answers invalid_refresh_token for garbage, an access token, and a tampered token', async () => {
    const user = await registerBearer(server.url)
    const [h, p, s] = user.refreshToken.split('.')
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString())
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url')}.${s}`
    for (const token of ['garbage', 'a.b.c', user.accessToken, tampered, `${h}.${p}.`]) {
      const res = await refresh(token)
      expect(res.status, token).toBe(401)
      expect(res.body.code).toBe('invalid_refresh_token')
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
  })

  it('refuses a refresh token where an access token is expected', async () => {
    const user = await registerBearer(server.url)
    const res = await me(user.refreshToken)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
  })

  it('revokes the session on reuse after the grace window: the rotated token is refused from then on', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    const rotated = await refresh(user.refreshToken)
    expect(rotated.status).toBe(200)
    vi.setSystemTime(T0 + 11_000)
    const reuse = await refresh(user.refreshToken)
    expect(reuse.status).toBe(401)
    expect(reuse.body.code).toBe('refresh_token_reused')
    expect(reuse.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    const successor = await refresh(rotated.body.data.refreshToken)
    expect(successor.status).toBe(401)
    expect(successor.body.code).toBe('invalid_refresh_token')
    // After detection the reused token itself is just invalid, like every token of a revoked session.
    expect((await refresh(user.refreshToken)).body.code).toBe('invalid_refresh_token')
    // The revoked session's access token no longer reaches the account routes either.
    const sessions = await request<unknown[]>(`${server.url}/auth/sessions`, {
      headers: { authorization: `Bearer ${rotated.body.data.accessToken}` },
    })
    expect(sessions.status).toBe(401)
    expect(sessions.body.code).toBe('session_revoked')
  })

  it('treats any reuse as theft when REFRESH_REUSE_GRACE is 0', async () => {
    const strict = await startTestServer({ rateLimit: false, refreshReuseGrace: 0 })
    try {
      const user = await registerBearer(strict.url)
      const body = { refreshToken: user.refreshToken }
      const headers = { 'x-auth-mode': 'bearer' }
      expect((await request(`${strict.url}/auth/refresh`, { body, headers })).status).toBe(200)
      const again = await request(`${strict.url}/auth/refresh`, { body, headers })
      expect(again.body.code).toBe('refresh_token_reused')
    } finally {
      await strict.close()
    }
  })

  it('slides the idle lifetime with each rotation, capped by the session maximum age', async () => {
    const capped = await startTestServer({ rateLimit: false, refreshTokenTtl: '7d', sessionMaxAge: '10d' })
    try {
      freezeAt(T0)
      const user = await registerBearer(capped.url)
      const day = 86_400_000
      let token = user.refreshToken
      const expiries: number[] = []
      for (const at of [6, 9, 9.9]) {
        vi.setSystemTime(T0 + at * day)
        const res = await request<{ refreshToken: string; refreshTokenExpiresAt: string }>(
          `${capped.url}/auth/refresh`,
          {
            body: { refreshToken: token },
            headers: { 'x-auth-mode': 'bearer' },
          },
        )
        expect(res.status).toBe(200)
        token = res.body.data.refreshToken
        expiries.push(Date.parse(res.body.data.refreshTokenExpiresAt))
      }
      expect(expiries).toEqual([T0 + 10 * day, T0 + 10 * day, T0 + 10 * day])
      vi.setSystemTime(T0 + 10 * day + 1000)
      const dead = await request(`${capped.url}/auth/refresh`, { body: { refreshToken: token } })
      expect(dead.body.code).toBe('invalid_refresh_token')
    } finally {
      await capped.close()
    }
  })

  it('lets an idle session die after REFRESH_TOKEN_TTL', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    vi.setSystemTime(T0 + 7 * 86_400_000 + 6_000)
    const res = await refresh(user.refreshToken)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_refresh_token')
  })

  it('renews the idle lifetime by REFRESH_TOKEN_TTL from each rotation', async () => {
    freezeAt(T0)
    const user = await registerBearer(server.url)
    vi.setSystemTime(T0 + 3 * 86_400_000)
    const res = await refresh(user.refreshToken)
    expect(Date.parse(res.body.data.refreshTokenExpiresAt)).toBe(T0 + 10 * 86_400_000)
  })
})

describe('refresh from the cookie', () => {
  it('reads the refresh cookie first and demands a same-origin request', async () => {
    const user = await registerBearer(server.url)
    const cookie = `refreshToken=${user.refreshToken}`
    const foreign = await request(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
    })
    expect(foreign.status).toBe(403)
    expect(foreign.body.code).toBe('csrf_rejected')
    expect(foreign.body.message).toMatch(/origin not allowed/)
    const none = await request(`${server.url}/auth/refresh`, { method: 'POST', headers: { cookie } })
    expect(none.body.code).toBe('csrf_rejected')
    // The message names what is missing rather than blaming an origin that was never sent.
    expect(none.body.message).toMatch(/no Origin or Referer/)
    const own = await request(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie, origin: server.url },
    })
    expect(own.status).toBe(200)
    const cookies = parseSetCookies(own.setCookies)
    expect(cookies.get('refreshToken')?.value).toBe(own.body.data.refreshToken)
  })

  it('accepts a Referer of the own origin when Origin is absent, and an allowed origin', async () => {
    const allowed = await startTestServer({ rateLimit: false, allowedOrigins: ['https://app.example'] })
    try {
      const a = await registerBearer(allowed.url)
      const viaReferer = await request(`${allowed.url}/auth/refresh`, {
        method: 'POST',
        headers: { cookie: `refreshToken=${a.refreshToken}`, referer: `${allowed.url}/some/page?x=1` },
      })
      expect(viaReferer.status).toBe(200)
      const viaAllowed = await request(`${allowed.url}/auth/refresh`, {
        method: 'POST',
        headers: {
          cookie: `refreshToken=${viaReferer.body.data.refreshToken}`,
          origin: 'https://app.example',
        },
      })
      expect(viaAllowed.status).toBe(200)
      const lookalike = await request(`${allowed.url}/auth/refresh`, {
        method: 'POST',
        headers: {
          cookie: `refreshToken=${viaAllowed.body.data.refreshToken}`,
          origin: 'https://app.example.evil.com',
        },
      })
      expect(lookalike.body.code).toBe('csrf_rejected')
    } finally {
      await allowed.close()
    }
  })

  it('clears the cookies when the refresh cookie is refused', async () => {
    const res = await request(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: 'refreshToken=garbage', origin: server.url },
    })
    expect(res.body.code).toBe('invalid_refresh_token')
    const cookies = parseSetCookies(res.setCookies)
    expect(cookies.get('refreshToken')?.value).toBe('')
    expect(cookies.get('accessToken')?.value).toBe('')
  })
})
