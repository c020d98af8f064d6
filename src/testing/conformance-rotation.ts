import { beforeEach, describe, expect, it } from 'vitest'
import type { Storage } from '../storage/storage.js'
import { type ConformanceSuite, DAY } from './conformance-suite.js'
import { makeToken } from './fixtures.js'

/**
 * The rotation cases: one consume of a token, the grace window, reuse detection, and the race of N
 * parallel consumes of one token, of which exactly one is `rotated`.
 */
export function describeRotationConformance(suite: ConformanceSuite): void {
  const { seedSession, consume } = suite
  describe('rotation', () => {
    let storage: Storage
    beforeEach(() => {
      storage = suite.storage
    })

    it('rotates an unused token once, storing its successor and touching the session', async () => {
      const { session, token } = await seedSession()
      const now = Date.now() + 1000
      const next = makeToken(session.id, { expiresAt: now + 2 * DAY }, now)
      const result = await storage.consumeRefreshToken({
        tokenHash: token.tokenHash,
        sessionId: session.id,
        now,
        graceMs: 0,
        next,
      })
      expect(result.status).toBe('rotated')
      if (result.status !== 'rotated') return
      expect(result.session.lastUsedAt).toBe(now)
      expect(result.session.idleExpiresAt).toBe(next.expiresAt)
      const again = await storage.consumeRefreshToken({
        tokenHash: next.tokenHash,
        sessionId: session.id,
        now: now + 1,
        graceMs: 0,
        next: makeToken(session.id, {}, now + 1),
      })
      expect(again.status).toBe('rotated')
    })

    it('answers invalid for an unknown token, another session, an expired token or a dead session', async () => {
      const now = Date.now()
      const { session, token } = await seedSession(now)
      expect((await consume('f'.repeat(64), session.id, now, 0)).status).toBe('invalid')
      const other = await seedSession(now)
      expect((await consume(token.tokenHash, other.session.id, now, 0)).status).toBe('invalid')
      expect((await consume(token.tokenHash, session.id, token.expiresAt + 1, 0)).status).toBe('invalid')

      const revoked = await seedSession(now)
      await storage.revokeSession(revoked.session.id, revoked.user.id, 'logout', now)
      expect((await consume(revoked.token.tokenHash, revoked.session.id, now + 1, 0)).status).toBe('invalid')

      const expired = await seedSession(now)
      expect(
        (await consume(expired.token.tokenHash, expired.session.id, expired.session.expiresAt + 1, 0)).status,
      ).toBe('invalid')
    })

    it('gives a used token a sibling within the grace window', async () => {
      const { session, token } = await seedSession()
      const now = Date.now()
      expect((await consume(token.tokenHash, session.id, now, 10_000)).status).toBe('rotated')
      const sibling = await consume(token.tokenHash, session.id, now + 9_000, 10_000)
      expect(sibling.status).toBe('grace')
      expect((await storage.findSession(session.id))?.revokedAt).toBeNull()
    })

    it('revokes the session when a used token comes back after the grace window, leaving no live token', async () => {
      const { user, session, token } = await seedSession()
      const now = Date.now()
      const nextToken = makeToken(session.id, { expiresAt: now + DAY }, now)
      const first = await storage.consumeRefreshToken({
        tokenHash: token.tokenHash,
        sessionId: session.id,
        now,
        graceMs: 10_000,
        next: nextToken,
      })
      expect(first.status).toBe('rotated')
      const reuse = await consume(token.tokenHash, session.id, now + 11_000, 10_000)
      expect(reuse.status).toBe('reused')
      const stored = await storage.findSession(session.id)
      expect(stored?.revokedReason).toBe('reuse_detected')
      // The successor, and the reused token itself, are dead from now on.
      expect((await consume(nextToken.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
      expect((await consume(token.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
      expect(await storage.listActiveSessions(user.id, now + 12_000)).toEqual([])
    })

    it('treats any second use as reuse when the grace window is 0', async () => {
      const { session, token } = await seedSession()
      const now = Date.now()
      expect((await consume(token.tokenHash, session.id, now, 0)).status).toBe('rotated')
      expect((await consume(token.tokenHash, session.id, now, 0)).status).toBe('reused')
    })

    async function race(graceMs: number) {
      const { session, token } = await seedSession()
      const peers = await suite.openPeers()
      const n = suite.options.raceSize ?? 24
      const now = Date.now()
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          consume(token.tokenHash, session.id, now, graceMs, peers[i % peers.length]),
        ),
      )
      return { session, statuses: results.map((r) => r.status) }
    }

    it('lets exactly one of N parallel consumes win, the rest get siblings within grace', async () => {
      const { statuses } = await race(60_000)
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
      expect(statuses.filter((s) => s === 'grace')).toHaveLength(statuses.length - 1)
    })

    it('lets exactly one of N parallel consumes win without grace, and the rest revoke the session', async () => {
      const { session, statuses } = await race(0)
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
      expect(statuses.every((s) => s === 'rotated' || s === 'reused' || s === 'invalid')).toBe(true)
      expect(statuses.filter((s) => s === 'reused').length).toBeGreaterThanOrEqual(1)
      expect((await storage.findSession(session.id))?.revokedReason).toBe('reuse_detected')
    })
  })
}
