import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Auth, createAuth } from '../auth.js'
import type { UserRecord } from '../storage/storage.js'
import { createAccessToken, verifyAccessToken } from './access-token.js'
import { KeyRing } from './keys.js'
import { getTokenCache, VerifiedTokenCache } from './token-cache.js'

const SECRET = 'token-cache-test-secret-0123456789-abcdefghijklmnop'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The same token with one signature character changed: still canonical base64url, another signature. */
function withOtherSignature(token: string): string {
  const at = token.lastIndexOf('.') + 5
  const next = ALPHABET[(ALPHABET.indexOf(token[at]!) + 1) % ALPHABET.length]!
  return `${token.slice(0, at)}${next}${token.slice(at + 1)}`
}

describe('verified access-token cache', () => {
  let auth: Auth
  let keys: KeyRing
  let user: UserRecord
  const t0 = Date.UTC(2030, 0, 1, 12, 0, 0)
  /** Expects `token` to be refused with `code`, cache or no cache. */
  const expectRefused = (token: string, code: string): Promise<void> =>
    expect(verifyAccessToken(auth.options, keys, token)).rejects.toMatchObject({ code })

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(t0)
    auth = await createAuth({ database: 'sqlite::memory:', secret: SECRET, rateLimit: false })
    // A key ring of our own on the same storage: same keys, and a cache we can look into.
    keys = new KeyRing(auth.options, auth.storage)
    await keys.load()
    user = {
      id: randomUUID(),
      username: 'cache_user',
      email: 'cache_user@example.com',
      fullname: 'Cache User',
      passwordHash: 'unused',
      roles: ['user'],
      emailVerified: true,
      disabledAt: null,
      createdAt: t0,
      updatedAt: t0,
      mfa: { totp: false, passkeys: 0 },
      metadata: {},
    }
  })

  afterEach(async () => {
    vi.useRealTimers()
    await auth.close()
  })

  const issue = async () =>
    (
      await createAccessToken(auth.options, keys, user, {
        id: randomUUID(),
        expiresAt: Date.now() + 86_400_000,
        authTime: Date.now(),
        amr: ['pwd'],
      })
    ).token

  it('serves a verified token from the cache, the same claims', async () => {
    const token = await issue()
    const first = await verifyAccessToken(auth.options, keys, token)
    expect(getTokenCache(keys).size).toBe(1)
    const second = await verifyAccessToken(auth.options, keys, token)
    expect(second).toBe(first)
    expect(second.sub).toBe(user.id)
    // Shared between requests, so nobody may change it.
    expect(Object.isFrozen(second)).toBe(true)
    expect(Object.isFrozen(second.roles)).toBe(true)
  })

  it('does not serve a token with another signature, even once the genuine one is cached', async () => {
    const token = await issue()
    await verifyAccessToken(auth.options, keys, token)
    const forged = withOtherSignature(token)
    expect(forged).not.toBe(token)
    expect(forged.slice(0, forged.lastIndexOf('.'))).toBe(token.slice(0, token.lastIndexOf('.')))
    await expectRefused(forged, 'invalid_token')
    expect(getTokenCache(keys).size).toBe(1)
  })

  it('does not serve a token after its exp (fake clock)', async () => {
    const token = await issue()
    const claims = await verifyAccessToken(auth.options, keys, token)
    // Past exp and the clock leeway: only a cache that outlived exp would still accept it.
    vi.setSystemTime(claims.exp * 1000 + auth.options.clockToleranceMs + 1000)
    await expectRefused(token, 'token_expired')
    expect(getTokenCache(keys).size).toBe(0)
  })

  it('drops an entry exactly at exp, leeway or not', async () => {
    const token = await issue()
    const claims = await verifyAccessToken(auth.options, keys, token)
    const cache = getTokenCache(keys)
    expect(cache.lookUp(token, keys, claims.exp * 1000 - 1)).toBe(claims)
    expect(cache.lookUp(token, keys, claims.exp * 1000)).toBeUndefined()
  })

  it('refuses a cached token once its key is retired', async () => {
    const token = await issue()
    await verifyAccessToken(auth.options, keys, token)
    const oldKid = keys.current.kid
    await auth.storage.insertKey(await keys.createKeyRecord(Date.now()))
    expect(await auth.storage.retireKey(oldKid, Date.now())).toBe(true)
    await keys.reload()
    await expectRefused(token, 'invalid_token')
  })

  it('holds at most maxEntries, dropping the oldest', async () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2 })
    const tokens = [await issue(), await issue(), await issue()]
    for (const token of tokens) {
      const claims = await verifyAccessToken(auth.options, keys, token)
      cache.remember(token, { ...claims, roles: [...claims.roles] }, keys.current.kid, keys.current.publicKey)
    }
    expect(cache.size).toBe(2)
    expect(cache.lookUp(tokens[0]!, keys, Date.now())).toBeUndefined()
    expect(cache.lookUp(tokens[2]!, keys, Date.now())?.jti).toBeTypeOf('string')
  })
})
