import { describe, expect, it } from 'vitest'
import { type ConformanceSuite, DAY, HOUR } from './conformance-suite.js'
import { makeSession, makeToken, makeUser } from './fixtures.js'

/** The sweep case: dead sessions and expired tokens go, live ones stay. */
export function describeSweepConformance(suite: ConformanceSuite): void {
  const { seedSession, consume } = suite
  describe('sweep', () => {
    it('deletes dead sessions and expired tokens, and keeps live ones', async () => {
      const now = Date.now()
      const live = await seedSession(now)
      const dead = await seedSession(now - 40 * DAY)
      const user = makeUser()
      await suite.storage.createUser(user)
      const liveSession = makeSession(user.id, {}, now)
      const expiredToken = makeToken(liveSession.id, { expiresAt: now - 1 }, now - DAY)
      await suite.storage.createSession(liveSession, expiredToken)
      await suite.storage.createEmailToken({
        tokenHash: makeToken('x').tokenHash,
        userId: user.id,
        purpose: 'verify_email',
        email: user.email,
        createdAt: now - 2 * HOUR,
        expiresAt: now - HOUR,
      })
      const result = await suite.storage.deleteExpired(now)
      expect(result).toEqual({ sessions: 1, refreshTokens: 2, emailTokens: 1, sealedSuccessors: 0 })
      expect(await suite.storage.findSession(dead.session.id)).toBeNull()
      expect(await suite.storage.findSession(live.session.id)).not.toBeNull()
      expect(await suite.storage.findSession(liveSession.id)).not.toBeNull()
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
      const result = await suite.storage.deleteExpired(now, { graceMs: 10_000 })
      expect(result.sealedSuccessors).toBe(1)
      // The recent one still answers within its window; the old one's window is long over.
      expect((await consume(recent.token.tokenHash, recent.session.id, now, 10_000)).status).toBe('grace')
      expect((await consume(old.token.tokenHash, old.session.id, now, 10_000)).status).toBe('reused')
      expect((await suite.storage.deleteExpired(now, { graceMs: 10_000 })).sealedSuccessors).toBe(0)
    })
  })
}
