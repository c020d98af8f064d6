import { describe, expect, it } from 'vitest'
import { type ConformanceSuite, DAY, sealedFor } from './conformance-suite.js'
import { makeToken } from './fixtures.js'

/**
 * The rotation cases: one consume of a token, the grace window, reuse detection, and the race of N
 * parallel consumes of one token, of which exactly one is `rotated`.
 */
export function describeRotationConformance(suite: ConformanceSuite): void {
  const { seedSession, consume } = suite
  describe('rotation', () => {
    it('rotates an unused token once, storing its successor and touching the session', async () => {
      const { session, token } = await seedSession()
      const now = Date.now() + 1000
      const next = makeToken(session.id, { expiresAt: now + 2 * DAY }, now)
      const result = await suite.storage.consumeRefreshToken({
        tokenHash: token.tokenHash,
        sessionId: session.id,
        now,
        graceMs: 0,
        next,
        sealedNext: sealedFor(next),
      })
      expect(result.status).toBe('rotated')
      if (result.status !== 'rotated') return
      expect(result.session.lastUsedAt).toBe(now)
      expect(result.session.idleExpiresAt).toBe(next.expiresAt)
      const again = await consume(next.tokenHash, session.id, now + 1, 0)
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
      await suite.storage.revokeSession(revoked.session.id, revoked.user.id, 'logout', now)
      expect((await consume(revoked.token.tokenHash, revoked.session.id, now + 1, 0)).status).toBe('invalid')

      const expired = await seedSession(now)
      expect(
        (await consume(expired.token.tokenHash, expired.session.id, expired.session.expiresAt + 1, 0)).status,
      ).toBe('invalid')
    })

    it('answers a used token within the grace window with the successor its first use stored', async () => {
      const { session, token } = await seedSession()
      const now = Date.now()
      const first = await consume(token.tokenHash, session.id, now, 10_000)
      expect(first.status).toBe('rotated')
      for (const at of [now + 1_000, now + 9_000]) {
        const again = await consume(token.tokenHash, session.id, at, 10_000)
        expect(again.status).toBe('grace')
        if (again.status !== 'grace') return
        expect(again.successor).toEqual({
          jti: first.offered.jti,
          expiresAt: first.offered.expiresAt,
          sealed: [sealedFor(first.offered)],
        })
        expect(again.session.id).toBe(session.id)
      }
      expect((await suite.storage.findSession(session.id))?.revokedAt).toBeNull()
      // Nothing was stored for the grace answers: the one successor is the session's live token,
      // and what the grace answers offered was never stored.
      const offeredInGrace = await consume(token.tokenHash, session.id, now + 9_500, 10_000)
      expect((await consume(offeredInGrace.offered.tokenHash, session.id, now + 9_600, 10_000)).status).toBe(
        'invalid',
      )
      expect((await consume(first.offered.tokenHash, session.id, now + 9_700, 10_000)).status).toBe('rotated')
    })

    it('leads a used token through the lineage to its newest token within the grace window', async () => {
      const { session, token } = await seedSession()
      const now = Date.now()
      const first = await consume(token.tokenHash, session.id, now, 10_000)
      const second = await consume(first.offered.tokenHash, session.id, now + 2_000, 10_000)
      expect([first.status, second.status]).toEqual(['rotated', 'rotated'])
      const fromStart = await consume(token.tokenHash, session.id, now + 5_000, 10_000)
      expect(fromStart.status).toBe('grace')
      if (fromStart.status !== 'grace') return
      expect(fromStart.successor).toEqual({
        jti: second.offered.jti,
        expiresAt: second.offered.expiresAt,
        sealed: [sealedFor(first.offered), sealedFor(second.offered)],
      })
      const fromMiddle = await consume(first.offered.tokenHash, session.id, now + 5_000, 10_000)
      expect(fromMiddle.status === 'grace' && fromMiddle.successor.sealed).toEqual([
        sealedFor(second.offered),
      ])
      // Past the middle token's window, it is a reuse.
      expect((await consume(first.offered.tokenHash, session.id, now + 12_001, 10_000)).status).toBe('reused')
    })

    it('revokes the session when a used token comes back after the grace window, leaving no live token', async () => {
      const { user, session, token } = await seedSession()
      const now = Date.now()
      const first = await consume(token.tokenHash, session.id, now, 10_000)
      const nextToken = first.offered
      expect(first.status).toBe('rotated')
      const reuse = await consume(token.tokenHash, session.id, now + 11_000, 10_000)
      expect(reuse.status).toBe('reused')
      const stored = await suite.storage.findSession(session.id)
      expect(stored?.revokedReason).toBe('reuse_detected')
      // The successor, and the reused token itself, are dead from now on.
      expect((await consume(nextToken.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
      expect((await consume(token.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
      expect(await suite.storage.listActiveSessions(user.id, now + 12_000)).toEqual([])
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
      return { session, results, statuses: results.map((r) => r.status) }
    }

    it('lets exactly one of N parallel consumes win, the rest get its successor within grace', async () => {
      const { results, statuses } = await race(60_000)
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
      expect(statuses.filter((s) => s === 'grace')).toHaveLength(statuses.length - 1)
      const winner = results.find((r) => r.status === 'rotated')!.offered
      for (const result of results) {
        if (result.status !== 'grace') continue
        expect(result.successor).toEqual({
          jti: winner.jti,
          expiresAt: winner.expiresAt,
          sealed: [sealedFor(winner)],
        })
      }
    })

    it('lets exactly one of N parallel consumes win without grace, and the rest revoke the session', async () => {
      const { session, statuses } = await race(0)
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
      expect(statuses.every((s) => s === 'rotated' || s === 'reused' || s === 'invalid')).toBe(true)
      expect(statuses.filter((s) => s === 'reused').length).toBeGreaterThanOrEqual(1)
      expect((await suite.storage.findSession(session.id))?.revokedReason).toBe('reuse_detected')
    })
  })
}
