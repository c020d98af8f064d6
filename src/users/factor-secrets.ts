import { createHmac, randomBytes } from 'node:crypto'
import type { ResolvedOptions } from '../config/options.js'
import { deriveKey, seal, unseal } from '../internal/crypto.js'

/* The keys of the second factor, derived from AUTH_SECRET (or, in an HS256-only setup, from the
 * refresh-token secret) with purposes of their own, so that they share nothing with the keys of
 * tokens or of private keys. */

interface FactorKeys {
  /** Seals TOTP secrets at rest (AES-256-GCM), as private keys are. */
  seal: Buffer
  /** Keys the HMAC under which recovery codes are stored. */
  codes: Buffer
}

const cache = new WeakMap<ResolvedOptions, FactorKeys>()

function keysOf(options: ResolvedOptions): FactorKeys {
  let keys = cache.get(options)
  if (keys === undefined) {
    // resolveOptions guarantees one of the two: AUTH_SECRET, or HS256 with a refresh-token secret.
    const secret = options.secret ?? options.refreshTokenSecret!
    keys = {
      seal: deriveKey(secret, 'totp-secret-encryption'),
      codes: deriveKey(secret, 'recovery-code-hashing'),
    }
    cache.set(options, keys)
  }
  return keys
}

/** Seals a TOTP secret (base32) for storage; the user id is bound in, so a sealed value moved to another user fails to open. */
export function sealTOTPSecret(options: ResolvedOptions, userId: string, secret: string): string {
  return seal(keysOf(options).seal, secret, `totp:${userId}`)
}

/** Opens a secret made by {@link sealTOTPSecret}; throws when it was not sealed for this user and secret. */
export function unsealTOTPSecret(options: ResolvedOptions, userId: string, sealed: string): string {
  return unseal(keysOf(options).seal, sealed, `totp:${userId}`)
}

/** The lower-case base32 alphabet of recovery codes: no 0, 1, 8 or 9 to misread. */
const CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** How many recovery codes a set holds. */
export const RECOVERY_CODE_COUNT = 10

/**
 * A set of fresh recovery codes, `xxxxx-xxxxx` (50 random bits each), and the hashes to store. The
 * codes are shown once and never stored.
 */
export function createRecoveryCodes(options: ResolvedOptions): { codes: string[]; hashes: string[] } {
  const codes: string[] = []
  for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
    // 32 symbols: each byte's low 5 bits are uniform, so the draw has no bias.
    const text = [...randomBytes(10)].map((b) => CODE_ALPHABET[b & 31]).join('')
    codes.push(`${text.slice(0, 5)}-${text.slice(5)}`)
  }
  return { codes, hashes: codes.map((code) => hashRecoveryCode(options, code)) }
}

/** A code as a person may type it: any case, with or without the dash and spaces. */
function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '')
}

/**
 * The stored form of a recovery code: HMAC-SHA256 under a key derived from the secret, so that a
 * copy of the database alone cannot be searched for codes (50 bits would fall to a plain hash).
 */
export function hashRecoveryCode(options: ResolvedOptions, code: string): string {
  return createHmac('sha256', keysOf(options).codes).update(normaliseRecoveryCode(code)).digest('hex')
}
