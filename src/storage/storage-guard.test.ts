import { describe, expect, it } from 'vitest'
import { AuthError } from '../errors.js'
import { type StorageErrorKind, StorageGuard } from './storage-guard.js'

/** A guard whose classification answers `kind` for every error. */
function guardFor(kind: StorageErrorKind): StorageGuard {
  return new StorageGuard(() => kind)
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.catch((e: unknown) => e)
  return error instanceof AuthError ? error.code : `not an AuthError: ${String(error)}`
}

describe('StorageGuard', () => {
  it('passes results through', async () => {
    await expect(guardFor(null).run(async () => 42)).resolves.toBe(42)
  })

  it('turns each kind of driver error into the domain code', async () => {
    const fail = () => Promise.reject(new Error('driver'))
    expect(await codeOf(guardFor('unique_username').run(fail))).toBe('username_taken')
    expect(await codeOf(guardFor('unique_email').run(fail))).toBe('email_taken')
    expect(await codeOf(guardFor('unavailable').run(fail))).toBe('unavailable')
    // A deadlock still there after every attempt is an overload.
    expect(await codeOf(guardFor('retry').run(fail))).toBe('unavailable')
  })

  it('keeps the driver error as the cause of unavailable, and rethrows what it does not know', async () => {
    const driver = new Error('connection refused')
    const error: unknown = await guardFor('unavailable')
      .run(() => Promise.reject(driver))
      .catch((e: unknown) => e)
    expect((error as Error).cause).toBe(driver)
    const bug = new TypeError('bug')
    await expect(guardFor(null).run(() => Promise.reject(bug))).rejects.toBe(bug)
    await expect(guardFor('unique_other').run(() => Promise.reject(bug))).rejects.toBe(bug)
  })

  it('lets an AuthError through as it is, whatever the classification says', async () => {
    const own = new AuthError('not_found', 'no such thing')
    await expect(guardFor('unavailable').run(() => Promise.reject(own))).rejects.toBe(own)
  })

  it('answers unavailable without running the work once closed', async () => {
    const guard = guardFor(null)
    guard.close()
    let ran = false
    expect(
      await codeOf(
        guard.run(async () => {
          ran = true
        }),
      ),
    ).toBe('unavailable')
    expect(ran).toBe(false)
  })
})
