import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { AccessTokenAlgorithm } from '../common/algorithms.js'
import type { ResolvedOptions } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { deriveKey, seal, unseal } from '../internal/crypto.js'
import type { KeyRecord, Storage } from '../storage/storage.js'
import { createVerificationKey, type VerificationKey } from './compact-jws.js'

/**
 * Least time between two reloads caused by tokens with an unknown `kid`, so that a flood of forged
 * kids costs at most one storage read per period.
 */
export const UNKNOWN_KID_RELOAD_COOLDOWN_MS = 5000

/**
 * A key that signs or verifies access tokens. As a {@link VerificationKey} (`alg`, `publicKey`,
 * `signatureLength`) it was checked at load to fit its algorithm (an RSA key of 2048 bits or more).
 */
export interface AccessKey extends VerificationKey {
  kid: string
  /** Signing key (private, or the HS256 secret). */
  privateKey: KeyObject | null
  publicJwk: JWK | null
  createdAt: number
  rotatedAt: number | null
}

/** The public JWK Set of `/.well-known/jwks.json`. */
export interface JWKSet {
  keys: JWK[]
}

function generateKeyPair(alg: Exclude<AccessTokenAlgorithm, 'HS256'>): {
  privateKey: KeyObject
  publicKey: KeyObject
} {
  switch (alg) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
  }
}

/** A kid that names an HS256 secret without revealing anything about it. */
function secretKid(secret: string): string {
  return `hs-${createHmac('sha256', secret).update('tokenpair kid').digest('base64url').slice(0, 16)}`
}

/**
 * The server's signing keys: the current access-token key, the older ones that still verify, and
 * the refresh-token key (HS256, its own secret, never used for access tokens). Asymmetric private
 * keys live in storage encrypted with a key derived from `AUTH_SECRET`.
 */
export class KeyRing {
  readonly #options: ResolvedOptions
  readonly #storage: Storage
  readonly #sealKey: Buffer | null
  #current: AccessKey | null = null
  #byKid = new Map<string, AccessKey>()
  #jwks: JWKSet = { keys: [] }
  #reloading: Promise<void> | null = null
  #lastReloadAt = 0
  #timer: NodeJS.Timeout | null = null
  /** HS256 key of refresh tokens. */
  readonly refreshKey: KeyObject
  /** kid of refresh tokens. */
  readonly refreshKid: string
  /** {@link refreshKey} as the key that checks refresh tokens. */
  readonly refreshVerificationKey: VerificationKey

  constructor(options: ResolvedOptions, storage: Storage) {
    this.#options = options
    this.#storage = storage
    this.#sealKey = options.secret ? deriveKey(options.secret, 'private-key-encryption') : null
    const refreshSecret = options.refreshTokenSecret ?? options.secret
    if (refreshSecret === null) throw new ConfigError('secret', 'required to derive the refresh-token key')
    if (options.accessTokenSecret !== null && options.accessTokenSecret === refreshSecret) {
      throw new ConfigError('REFRESH_TOKEN_SECRET', 'must differ from ACCESS_TOKEN_SECRET')
    }
    this.refreshKey = createSecretKey(
      options.refreshTokenSecret
        ? Buffer.from(options.refreshTokenSecret)
        : deriveKey(refreshSecret, 'refresh-token-signing'),
    )
    this.refreshKid = secretKid(refreshSecret)
    this.refreshVerificationKey = createVerificationKey('HS256', this.refreshKey)
  }

  /** The key that signs new access tokens. */
  get current(): AccessKey {
    if (!this.#current) throw new Error('KeyRing.load() was not called')
    return this.#current
  }

  /** The access key with this kid, if it may still verify tokens. */
  find(kid: string): AccessKey | undefined {
    return this.#byKid.get(kid)
  }

  /**
   * The access key with this kid; when there is none, re-reads the keys from storage first (a
   * rotation made by another instance or the CLI), at most once per
   * {@link UNKNOWN_KID_RELOAD_COOLDOWN_MS}. A failed read counts as "no such key".
   */
  async findOrReload(kid: string): Promise<AccessKey | undefined> {
    const known = this.#byKid.get(kid)
    if (known || this.#options.algorithm === 'HS256') return known
    if (this.#reloading === null && Date.now() - this.#lastReloadAt < UNKNOWN_KID_RELOAD_COOLDOWN_MS) {
      return undefined
    }
    try {
      await this.reload()
    } catch (error) {
      this.#options.logger.error({ err: error }, 'reloading signing keys failed')
      return undefined
    }
    return this.#byKid.get(kid)
  }

  /** Re-reads the keys from storage now. Concurrent calls share one read. */
  reload(): Promise<void> {
    this.#reloading ??= this.load().finally(() => {
      this.#lastReloadAt = Date.now()
      this.#reloading = null
    })
    return this.#reloading
  }

  /**
   * Re-reads the keys every `intervalMs`, so that a rotation made elsewhere takes effect here, and
   * rotated keys leave JWKS once their last token has expired. The timer does not keep the
   * process alive; {@link stopReloading} ends it.
   */
  startReloading(intervalMs: number): void {
    this.stopReloading()
    this.#timer = setInterval(() => {
      this.reload().catch((error: unknown) => {
        this.#options.logger.error({ err: error }, 'reloading signing keys failed')
      })
    }, intervalMs)
    this.#timer.unref()
  }

  /** Stops the periodic reload. */
  stopReloading(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }

  /** The public JWK Set (empty for HS256). */
  get jwks(): JWKSet {
    return this.#jwks
  }

  /**
   * Loads the keys from storage, creating the first key of the configured algorithm when there is
   * none. Several instances starting together may each create one: the newest wins everywhere,
   * and every key verifies, so nothing breaks.
   */
  async load(now = Date.now()): Promise<void> {
    if (this.#options.algorithm === 'HS256') {
      this.#loadSecretKey()
      return
    }
    let records = await this.#storage.listKeys()
    if (!records.some((r) => this.#usable(r) && r.rotatedAt === null)) {
      await this.#storage.insertKey(await this.createKeyRecord(now))
      records = await this.#storage.listKeys()
    }
    await this.#install(records, now)
  }

  /** A new key of the configured algorithm, sealed for storage. Used at first start and by rotation. */
  async createKeyRecord(now = Date.now()): Promise<KeyRecord> {
    const alg = this.#options.algorithm
    if (alg === 'HS256') throw new ConfigError('JWT_ALG', 'HS256 keys come from ACCESS_TOKEN_SECRET')
    if (!this.#sealKey) throw new ConfigError('secret', 'required to protect private keys')
    const { privateKey, publicKey } = generateKeyPair(alg)
    const publicJwk = publicKey.export({ format: 'jwk' }) as JWK
    const kid = await calculateJwkThumbprint(publicJwk)
    const privateJwk = JSON.stringify(privateKey.export({ format: 'jwk' }))
    return {
      kid,
      alg,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
      privateJwk: seal(this.#sealKey, privateJwk, kid),
      createdAt: now,
      rotatedAt: null,
      retiredAt: null,
    }
  }

  #usable(record: KeyRecord): boolean {
    return record.alg === this.#options.algorithm && record.retiredAt === null
  }

  async #install(records: KeyRecord[], now: number): Promise<void> {
    const byKid = new Map<string, AccessKey>()
    let current: AccessKey | null = null
    for (const record of records) {
      if (!this.#usable(record)) continue
      // A rotated key verifies until the last token it signed has expired, then leaves JWKS. An
      // instance that has not reloaded yet may sign with it for one more reload interval.
      if (
        record.rotatedAt !== null &&
        record.rotatedAt +
          this.#options.accessTokenTtlMs +
          this.#options.clockToleranceMs +
          this.#options.keyReloadIntervalMs <
          now
      ) {
        continue
      }
      const existing = this.#byKid.get(record.kid)
      const isCurrent: boolean = current === null && record.rotatedAt === null
      // Keys already imported are kept: importing costs more than the comparison.
      const key: AccessKey =
        existing && (existing.privateKey !== null || !isCurrent)
          ? { ...existing, rotatedAt: record.rotatedAt }
          : await this.#importRecord(record, isCurrent)
      byKid.set(key.kid, key)
      if (isCurrent) current = key
    }
    if (!current) throw new Error('no current signing key after load')
    this.#byKid = byKid
    this.#current = current
    this.#jwks = Object.freeze({
      keys: [...byKid.values()].map((k) => k.publicJwk).filter((j): j is JWK => j !== null),
    })
  }

  async #importRecord(record: KeyRecord, withPrivate: boolean): Promise<AccessKey> {
    const publicJwk = JSON.parse(record.publicJwk) as JWK
    let verification: VerificationKey
    try {
      const publicKey = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' })
      verification = createVerificationKey(record.alg as AccessTokenAlgorithm, publicKey)
    } catch (error) {
      throw new Error(`key ${record.kid} cannot verify ${record.alg} tokens`, { cause: error })
    }
    let privateKey: KeyObject | null = null
    if (withPrivate) {
      if (!this.#sealKey) throw new ConfigError('secret', 'required to open private keys')
      let jwk: JWK
      try {
        jwk = JSON.parse(unseal(this.#sealKey, record.privateJwk, record.kid)) as JWK
      } catch {
        throw new ConfigError(
          'AUTH_SECRET',
          `cannot decrypt signing key ${record.kid}: is this the secret the keys were made with?`,
        )
      }
      privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
    }
    return {
      ...verification,
      kid: record.kid,
      privateKey,
      publicJwk,
      createdAt: record.createdAt,
      rotatedAt: record.rotatedAt,
    }
  }

  #loadSecretKey(): void {
    // The secret never changes while the process runs: a reload keeps the same key, so that
    // whatever is keyed by it (the verified-token cache) survives.
    if (this.#current?.alg === 'HS256') return
    const secret = this.#options.accessTokenSecret
    if (secret === null) throw new ConfigError('ACCESS_TOKEN_SECRET', 'required with HS256')
    const key = createSecretKey(Buffer.from(secret))
    const current: AccessKey = {
      ...createVerificationKey('HS256', key),
      kid: secretKid(secret),
      privateKey: key,
      publicJwk: null,
      createdAt: 0,
      rotatedAt: null,
    }
    this.#current = current
    this.#byKid = new Map([[current.kid, current]])
    this.#jwks = Object.freeze({ keys: [] })
  }
}
