import { beforeEach, describe, expect, it } from 'vitest'
import type { Storage } from '../storage/storage.js'
import type { ConformanceSuite } from './conformance-suite.js'
import { makeKey } from './fixtures.js'

/** The signing-key cases: order, rotation by algorithm, retirement. */
export function describeKeyConformance(suite: ConformanceSuite): void {
  describe('keys', () => {
    let storage: Storage
    beforeEach(() => {
      storage = suite.storage
    })

    it('lists keys newest first and rotates the previous key of the same algorithm', async () => {
      const now = Date.now()
      const first = makeKey({ createdAt: now - 1000 })
      const other = makeKey({ alg: 'ES256', createdAt: now - 900 })
      const second = makeKey({ createdAt: now })
      await storage.insertKey(first)
      await storage.insertKey(other)
      await storage.insertKey(second)
      const keys = await storage.listKeys()
      expect(keys.map((k) => k.kid)).toEqual([second.kid, other.kid, first.kid])
      expect(keys.find((k) => k.kid === first.kid)?.rotatedAt).toBe(now)
      expect(keys.find((k) => k.kid === other.kid)?.rotatedAt).toBeNull()
      expect(keys[0]).toEqual(second)
    })

    it('retires a key once', async () => {
      const key = makeKey()
      await storage.insertKey(key)
      expect(await storage.retireKey(key.kid, 123)).toBe(true)
      expect(await storage.retireKey(key.kid, 456)).toBe(false)
      expect(await storage.retireKey('no-such-kid', 456)).toBe(false)
      expect((await storage.listKeys())[0]?.retiredAt).toBe(123)
    })
  })
}
