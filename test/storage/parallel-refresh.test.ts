import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import {
  createDatabaseOn,
  findTestServer,
  type TestDatabase,
  type TestServerKind,
} from '../helpers/test-database.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * The rotation race over HTTP, on each SQL server, split across two server instances that share one
 * database (as two stateless replicas behind a balancer would): one refresh token presented 40
 * times at once is honoured once outside the grace window, every other answer is a 401, and none
 * is a 5xx.
 */
const PARALLEL = 40

for (const kind of ['postgres', 'mysql'] as const satisfies readonly TestServerKind[]) {
  const serverUrl = await findTestServer(kind)

  describe.skipIf(serverUrl === null)(`parallel refreshes on ${kind}, two instances`, () => {
    let database: TestDatabase
    let servers: TestServer[] = []

    beforeAll(async () => {
      database = await createDatabaseOn(serverUrl!)
      const options = { database: database.url, rateLimit: false as const }
      servers = [
        await startTestServer({ ...options, refreshReuseGrace: 0 }),
        await startTestServer({ ...options, refreshReuseGrace: 0 }),
        await startTestServer({ ...options, refreshReuseGrace: '1m' }),
        await startTestServer({ ...options, refreshReuseGrace: '1m' }),
      ]
    })

    afterAll(async () => {
      for (const server of servers) await server.close()
      await database?.drop()
    })

    function refreshAll(urls: string[], refreshToken: string) {
      return Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          request<{ refreshToken: string; accessToken: string }>(`${urls[i % urls.length]}/auth/refresh`, {
            body: { refreshToken },
            headers: { 'x-auth-mode': 'bearer' },
          }),
        ),
      )
    }

    it('honours the token once without a grace window; the rest are refused and the session revoked', async () => {
      const urls = [servers[0]!.url, servers[1]!.url]
      const user = await registerBearer(urls[0]!)
      const results = await refreshAll(urls, user.refreshToken)
      expect(results.filter((r) => r.status >= 500)).toEqual([])
      expect(results.filter((r) => r.status === 200)).toHaveLength(1)
      expect(results.filter((r) => r.status === 401)).toHaveLength(PARALLEL - 1)
      expect(results.some((r) => r.body.code === 'refresh_token_reused')).toBe(true)
      // The reuse revoked the session: the one token issued is dead too.
      const winner = results.find((r) => r.status === 200)!
      const after = await request(`${urls[1]}/auth/refresh`, {
        body: { refreshToken: winner.body.data.refreshToken },
      })
      expect(after.status).toBe(401)
      expect(await servers[0]!.auth.storage.listActiveSessions(user.id, Date.now())).toEqual([])
    })

    it('gives every parallel caller the one successor of the one session within the grace window', async () => {
      const urls = [servers[2]!.url, servers[3]!.url]
      const user = await registerBearer(urls[0]!)
      const results = await refreshAll(urls, user.refreshToken)
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200))
      // One lineage: whichever instance answered, every caller holds the same refresh token.
      const issued = new Set(results.map((r) => r.body.data.refreshToken))
      expect(issued.size).toBe(1)
      const sessions = await servers[2]!.auth.storage.listActiveSessions(user.id, Date.now())
      expect(sessions).toHaveLength(1)
    })
  })
}
