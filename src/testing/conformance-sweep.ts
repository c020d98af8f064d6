import { beforeEach, describe, expect, it } from 'vitest'
import type { Storage } from '../storage/storage.js'
import { type ConformanceSuite, DAY, HOUR } from './conformance-suite.js'
import { makeSession, makeToken, makeUser } from './fixtures.js'

/** The sweep case: dead sessions and expired tokens go, live ones stay. */
export function describeSweepConformance(suite: ConformanceSuite): void {
  const { seedSession, consume } = suite
  describe('sweep', () => {
    let storage: Storage
    beforeEach(() => {
      storage = suite.storage
    })

    it('deletes dead sessions and expired tokens, and keeps live ones', async () => {
      const now = Date.now()
      const live = await seedSession(now)
      const dead = await seedSession(now - 40 * DAY)
      const user = makeUser()
      await storage.createUser(user)
      const liveSession = makeSession(user.id, {}, now)
      const expiredToken = makeToken(liveSession.id, { expiresAt: now - 1 }, now - DAY)
      await storage.createSession(liveSession, expiredToken)
      await storage.createEmailToken({
        tokenHash: makeToken('x').tokenHash,
        userId: user.id,
        purpose: 'verify_email',
        email: user.email,
        createdAt: now - 2 * HOUR,
        expiresAt: now - HOUR,
      })
      const result = await storage.deleteExpired(now)
      expect(result).toEqual({ sessions: 1, refreshTokens: 2, emailTokens: 1 })
      expect(await storage.findSession(dead.session.id)).toBeNull()
      expect(await storage.findSession(live.session.id)).not.toBeNull()
      expect(await storage.findSession(liveSession.id)).not.toBeNull()
      const stillLive = await consume(live.token.tokenHash, live.session.id, now, 0)
      expect(stillLive.status).toBe('rotated')
    })
  })
}
