import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage } from '../../src/storage/open-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * A rotation that races a revocation. On PostgreSQL the compare-and-set's `EXISTS (live session)`
 * sees the snapshot its statement began with, so a logout or a reuse detection that commits in
 * between lets the rotation through, and the session row it then updates comes back revoked. The
 * rotation must look at that row before it signs: no access token for a revoked session. The
 * storage below reports the race's outcome as PostgreSQL would; the domain's answer is under test.
 */

let server: TestServer
let racing = false

function reportRevokedAfterConsume(storage: Storage): Storage {
  return new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      if (property !== 'consumeRefreshToken') return (value as (...a: unknown[]) => unknown).bind(target)
      return async (...args: Parameters<Storage['consumeRefreshToken']>) => {
        const result = await target.consumeRefreshToken(...args)
        if (!racing || result.status !== 'rotated') return result
        // What RETURNING shows after waiting on the revoker's row lock.
        const now = args[0].now
        return { ...result, session: { ...result.session, revokedAt: now, revokedReason: 'logout' as const } }
      }
    },
  })
}

beforeAll(async () => {
  server = await startTestServer({
    database: reportRevokedAfterConsume(await openStorage('sqlite::memory:')),
    rateLimit: false,
  })
})
afterAll(async () => {
  await server.close()
  await server.auth.storage.close()
})

describe('a rotation that raced a revocation', () => {
  it('signs no access token for the session it finds revoked', async () => {
    const user = await registerBearer(server.url)
    racing = true
    const res = await request<{ accessToken?: string }>(`${server.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    racing = false
    expect([res.status, res.body.code]).toEqual([401, 'invalid_refresh_token'])
    expect(res.body.data).toBeNull()
  })
})
