import { describe, expect, it } from 'vitest'
import type { EmailTokenRecord } from '../storage/storage.js'
import { type ConformanceSuite, HOUR } from './conformance-suite.js'
import { makeToken, makeUser } from './fixtures.js'

/**
 * The mail-token cases: single use, purpose, expiry, the supersede, and the races of parallel
 * requests and of parallel consumes.
 */
export function describeMailTokenConformance(suite: ConformanceSuite): void {
  describe('mail tokens', () => {
    function mailToken(userId: string, overrides: Partial<EmailTokenRecord> = {}): EmailTokenRecord {
      const now = Date.now()
      return {
        tokenHash: makeToken('x').tokenHash,
        userId,
        purpose: 'verify_email',
        email: 'someone@example.com',
        createdAt: now,
        expiresAt: now + HOUR,
        ...overrides,
      }
    }

    it('deletes the unused tokens of one user and purpose, and nothing else', async () => {
      const user = makeUser()
      const other = makeUser()
      await suite.storage.createUser(user)
      await suite.storage.createUser(other)
      const reset = mailToken(user.id, { purpose: 'reset_password' })
      const verify = mailToken(user.id)
      const othersReset = mailToken(other.id, { purpose: 'reset_password' })
      for (const token of [reset, verify, othersReset]) await suite.storage.createEmailToken(token)
      expect(await suite.storage.deleteUnusedEmailTokens(user.id, 'reset_password')).toBe(1)
      expect(await suite.storage.consumeEmailToken(reset.tokenHash, 'reset_password', Date.now())).toBeNull()
      expect(await suite.storage.consumeEmailToken(verify.tokenHash, 'verify_email', Date.now())).toEqual(
        verify,
      )
      expect(
        await suite.storage.consumeEmailToken(othersReset.tokenHash, 'reset_password', Date.now()),
      ).toEqual(othersReset)
      // A used token is no longer "unused": nothing left to delete.
      expect(await suite.storage.deleteUnusedEmailTokens(other.id, 'reset_password')).toBe(0)
    })

    it('finds a pending token without spending it, and never a used, expired or other-purpose one', async () => {
      const { storage } = suite
      const user = makeUser()
      await storage.createUser(user)
      const token = mailToken(user.id, { purpose: 'reset_password' })
      await storage.createEmailToken(token)
      expect(await storage.findEmailToken(token.tokenHash, 'verify_email', Date.now())).toBeNull()
      expect(await storage.findEmailToken(token.tokenHash, 'reset_password', token.expiresAt)).toBeNull()
      expect(await storage.findEmailToken(token.tokenHash, 'reset_password', Date.now())).toEqual(token)
      // Found twice, still consumable: finding spends nothing.
      expect(await storage.findEmailToken(token.tokenHash, 'reset_password', Date.now())).toEqual(token)
      expect(await storage.consumeEmailToken(token.tokenHash, 'reset_password', Date.now())).toEqual(token)
      expect(await storage.findEmailToken(token.tokenHash, 'reset_password', Date.now())).toBeNull()
      expect(await storage.findEmailToken('0'.repeat(64), 'reset_password', Date.now())).toBeNull()
    })

    it('consumes a token once, and never for another purpose or after expiry', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const token = mailToken(user.id)
      await suite.storage.createEmailToken(token)
      expect(await suite.storage.consumeEmailToken(token.tokenHash, 'reset_password', Date.now())).toBeNull()
      expect(await suite.storage.consumeEmailToken(token.tokenHash, 'verify_email', Date.now())).toEqual(
        token,
      )
      expect(await suite.storage.consumeEmailToken(token.tokenHash, 'verify_email', Date.now())).toBeNull()
      const expiring = mailToken(user.id, { purpose: 'reset_password' })
      await suite.storage.createEmailToken(expiring)
      expect(
        await suite.storage.consumeEmailToken(expiring.tokenHash, 'reset_password', expiring.expiresAt),
      ).toBeNull()
      expect(await suite.storage.consumeEmailToken('0'.repeat(64), 'verify_email', Date.now())).toBeNull()
    })

    it('supersedes the older unused token of the same purpose only', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const old = mailToken(user.id)
      const reset = mailToken(user.id, { purpose: 'reset_password' })
      const fresh = mailToken(user.id)
      await suite.storage.createEmailToken(old)
      await suite.storage.createEmailToken(reset)
      await suite.storage.createEmailToken(fresh)
      expect(await suite.storage.consumeEmailToken(old.tokenHash, 'verify_email', Date.now())).toBeNull()
      expect(
        await suite.storage.consumeEmailToken(fresh.tokenHash, 'verify_email', Date.now()),
      ).not.toBeNull()
      expect(
        await suite.storage.consumeEmailToken(reset.tokenHash, 'reset_password', Date.now()),
      ).not.toBeNull()
    })

    it('stores parallel mail-token requests of one user without failing, the last one usable', async () => {
      // Two clicks on "send the link again" arrive together: neither may fail (a deadlock between
      // the supersede and the insert would answer 5xx), and a link mailed after them still works.
      const user = makeUser()
      await suite.storage.createUser(user)
      const peers = await suite.openPeers()
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => peers[i % peers.length]!.createEmailToken(mailToken(user.id))),
        )
        expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      }
      const last = mailToken(user.id)
      await suite.storage.createEmailToken(last)
      expect(await suite.storage.consumeEmailToken(last.tokenHash, 'verify_email', Date.now())).toEqual(last)
    })

    it('lets exactly one of N parallel consumes of a mail token win', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const token = mailToken(user.id, { purpose: 'reset_password' })
      await suite.storage.createEmailToken(token)
      const peers = await suite.openPeers()
      const now = Date.now()
      const results = await Promise.all(
        Array.from({ length: suite.options.raceSize ?? 24 }, (_, i) =>
          peers[i % peers.length]!.consumeEmailToken(token.tokenHash, 'reset_password', now),
        ),
      )
      expect(results.filter((r) => r !== null)).toHaveLength(1)
    })
  })
}
