import type { KeyObject } from 'node:crypto'
import type { AccessTokenClaims } from './claims.js'
import type { KeyRing } from './keys.js'

/** Entries a {@link VerifiedTokenCache} holds by default: a few MB at most. */
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000

interface CachedToken {
  claims: AccessTokenClaims
  /** `exp` in epoch ms: the entry is never served at or after it. */
  expiresAt: number
  kid: string
  /** The key that verified the signature; the entry dies with it (see {@link VerifiedTokenCache.lookUp}). */
  publicKey: KeyObject
}

/** Options of {@link VerifiedTokenCache}. */
export interface VerifiedTokenCacheOptions {
  /** Most entries kept; the oldest is dropped first. Default {@link DEFAULT_TOKEN_CACHE_SIZE}. */
  maxEntries?: number
}

/**
 * A bounded cache of access tokens that passed every check of `verifyAccessToken`, so that a
 * client presenting the same token again skips the signature check and the JSON parsing.
 *
 * - Keyed by the whole token string, signature included: a token that differs in any character
 *   (another signature, a flipped claim) is another key and is verified in full. Token spellings
 *   are canonical (jws-reader.ts refuses the others), so one token has one key.
 * - An entry is served only before the token's `exp` (no clock leeway: the leeway is for clocks
 *   of other machines, not for memory), and only while the key that verified it is still in the
 *   key ring with the same public key, so that retiring a key takes its tokens with it.
 * - Bounded: past `maxEntries` the oldest entry goes (insertion order), so a flood of distinct
 *   tokens costs a fixed amount of memory.
 *
 * @example
 * ```ts
 * const cache = new VerifiedTokenCache({ maxEntries: 1000 })
 * const hit = cache.lookUp(token, keys, Date.now())
 * ```
 */
export class VerifiedTokenCache {
  readonly #maxEntries: number
  readonly #entries = new Map<string, CachedToken>()

  constructor(options: VerifiedTokenCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_SIZE
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new TypeError('VerifiedTokenCache: maxEntries must be a non-negative integer')
    }
    this.#maxEntries = maxEntries
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size
  }

  /** The claims of `token` if it was verified before, has not expired and its key still stands. */
  lookUp(token: string, keys: KeyRing, now: number): AccessTokenClaims | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.expiresAt || keys.find(entry.kid)?.publicKey !== entry.publicKey) {
      this.#entries.delete(token)
      return undefined
    }
    return entry.claims
  }

  /**
   * Remembers a token that passed every check. `claims` is frozen, since every later request
   * with this token gets the same object.
   */
  remember(token: string, claims: AccessTokenClaims, kid: string, publicKey: KeyObject): void {
    if (this.#maxEntries === 0) return
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    Object.freeze(claims.roles)
    this.#entries.set(token, { claims: Object.freeze(claims), expiresAt: claims.exp * 1000, kid, publicKey })
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear()
  }
}

const cachesByKeyRing = new WeakMap<KeyRing, VerifiedTokenCache>()

/**
 * The cache of one key ring (one `createAuth`), made on first use. One cache per key ring, since
 * an entry is valid only for the issuer, audience and keys it was checked against.
 */
export function getTokenCache(keys: KeyRing): VerifiedTokenCache {
  let cache = cachesByKeyRing.get(keys)
  if (cache === undefined) {
    cache = new VerifiedTokenCache()
    cachesByKeyRing.set(keys, cache)
  }
  return cache
}
