import { describe, expect, it } from 'vitest'
import { describeFactorConformance } from './conformance-factors.js'
import { describeIdentityConformance } from './conformance-identities.js'
import { describeKeyConformance } from './conformance-keys.js'
import { describeMailTokenConformance } from './conformance-mail-tokens.js'
import { describeRotationConformance } from './conformance-rotation.js'
import { describeSessionConformance } from './conformance-sessions.js'
import { type ConformanceOptions, expectAuthError, useConformanceSuite } from './conformance-suite.js'
import { describeSweepConformance } from './conformance-sweep.js'
import { describeUserConformance } from './conformance-users.js'

export type { ConformanceOptions } from './conformance-suite.js'

/**
 * The contract of `Storage` (storage.ts), run unchanged against every adapter. An adapter's test file
 * is a few lines of wiring:
 *
 * @example
 * ```ts
 * describeStorageConformance('sqlite', { create: () => createSQLiteStorage({ path: ':memory:' }) })
 * ```
 */
export function describeStorageConformance(name: string, options: ConformanceOptions): void {
  describe(`Storage conformance: ${name}`, () => {
    const suite = useConformanceSuite(options)

    describe('setup', () => {
      it('answers unavailable, not a driver error, once closed', async () => {
        const closed = await options.create()
        await closed.close()
        await expectAuthError(closed.findUserById('someone'), 'unavailable')
      })

      it('migrates twice without harm and answers ping', async () => {
        await suite.storage.migrate()
        await expect(suite.storage.ping()).resolves.toBeUndefined()
      })
    })

    describeUserConformance(suite)
    describeSessionConformance(suite)
    describeRotationConformance(suite)
    describeMailTokenConformance(suite)
    describeKeyConformance(suite)
    describeSweepConformance(suite)
    describeFactorConformance(suite)
    describeIdentityConformance(suite)
  })
}
