import { afterEach, describe, expect, it } from 'vitest'
import { resolveOptions } from '../config/options.js'
import { createSQLiteStorage } from '../storage/sql/sqlite-storage.js'
import type { Storage } from '../storage/storage.js'
import { KeyRing } from './keys.js'

const SECRET = 'keys-test-secret-0123456789-abcdefghijklmnop'
let storage: Storage

afterEach(async () => {
  await storage.close()
})

async function openStorage(): Promise<Storage> {
  storage = await createSQLiteStorage({ path: ':memory:' })
  await storage.migrate()
  return storage
}

describe('KeyRing', () => {
  it('keeps a rotated key in JWKS for the token lifetime, the leeway and one reload interval', async () => {
    await openStorage()
    const options = resolveOptions({
      database: storage,
      secret: SECRET,
      accessTokenTtl: '15m',
      clockTolerance: '5s',
      keyReloadInterval: '60s',
    })
    const ring = new KeyRing(options, storage)
    const t0 = Date.parse('2030-01-01T00:00:00Z')
    const old = await ring.createKeyRecord(t0)
    await storage.insertKey(old)
    const rotatedAt = t0 + 1000
    await storage.insertKey(await ring.createKeyRecord(rotatedAt))
    const window = 15 * 60_000 + 5_000 + 60_000

    // An instance that has not reloaded may still sign with the old key for one interval.
    await ring.load(rotatedAt + window - 1)
    expect(ring.jwks.keys.map((k) => k.kid)).toContain(old.kid)
    expect(ring.find(old.kid)).toBeDefined()

    const later = new KeyRing(options, storage)
    await later.load(rotatedAt + window + 1)
    expect(later.jwks.keys.map((k) => k.kid)).not.toContain(old.kid)
    expect(later.find(old.kid)).toBeUndefined()
  })

  it('keeps the same HS256 key object across reloads, so that what is keyed by it survives', async () => {
    await openStorage()
    const options = resolveOptions({
      database: storage,
      algorithm: 'HS256',
      accessTokenSecret: 'access-secret-0123456789-abcdefghijklmnop',
      refreshTokenSecret: 'refresh-secret-0123456789-abcdefghijklmno',
    })
    const ring = new KeyRing(options, storage)
    await ring.load()
    const before = ring.current.publicKey
    await ring.reload()
    expect(ring.current.publicKey).toBe(before)
    expect(ring.jwks).toEqual({ keys: [] })
  })
})
