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
      expect(result).toEqual({ sessions: 1, refreshTokens: 2, emailTokens: 1, sealedSuccessors: 0 })
      expect(await storage.findSession(dead.session.id)).toBeNull()
      expect(await storage.findSession(live.session.id)).not.toBeNull()
      expect(await storage.findSession(liveSession.id)).not.toBeNull()
      const stillLive = await consume(live.token.tokenHash, live.session.id, now, 0)
      expect(stillLive.status).toBe('rotated')
    })

    it('clears the sealed successors of tokens used before the grace window, and only those', async () => {
      const now = Date.now()
      const old = await seedSession(now)
      const recent = await seedSession(now)
      expect((await consume(old.token.tokenHash, old.session.id, now - 60_000, 10_000)).status).toBe(
        'rotated',
      )
      expect((await consume(recent.token.tokenHash, recent.session.id, now - 1_000, 10_000)).status).toBe(
        'rotated',
      )
      const result = await storage.deleteExpired(now, { graceMs: 10_000 })
      expect(result.sealedSuccessors).toBe(1)
      // The recent one still answers within its window; the old one's window is long over.
      expect((await consume(recent.token.tokenHash, recent.session.id, now, 10_000)).status).toBe('grace')
      expect((await consume(old.token.tokenHash, old.session.id, now, 10_000)).status).toBe('reused')
      expect((await storage.deleteExpired(now, { graceMs: 10_000 })).sealedSuccessors).toBe(0)
    })
  })
}
