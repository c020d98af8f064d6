import { describe, expect, it } from 'vitest'
import type { ConformanceSuite } from './conformance-suite.js'
import { makeKey } from './fixtures.js'

/** The signing-key cases: order, rotation by algorithm, retirement. */
export function describeKeyConformance(suite: ConformanceSuite): void {
  describe('keys', () => {
    it('lists keys newest first and rotates the previous key of the same algorithm', async () => {
      const now = Date.now()
      const first = makeKey({ createdAt: now - 1000 })
      const other = makeKey({ alg: 'ES256', createdAt: now - 900 })
      const second = makeKey({ createdAt: now })
      await suite.storage.insertKey(first)
      await suite.storage.insertKey(other)
      await suite.storage.insertKey(second)
      const keys = await suite.storage.listKeys()
      expect(keys.map((k) => k.kid)).toEqual([second.kid, other.kid, first.kid])
      expect(keys.find((k) => k.kid === first.kid)?.rotatedAt).toBe(now)
      expect(keys.find((k) => k.kid === other.kid)?.rotatedAt).toBeNull()
      expect(keys[0]).toEqual(second)
    })

    it('retires a key once', async () => {
      const key = makeKey()
      await suite.storage.insertKey(key)
      expect(await suite.storage.retireKey(key.kid, 123)).toBe(true)
      expect(await suite.storage.retireKey(key.kid, 456)).toBe(false)
      expect(await suite.storage.retireKey('no-such-kid', 456)).toBe(false)
      expect((await suite.storage.listKeys())[0]?.retiredAt).toBe(123)
    })
  })
}
