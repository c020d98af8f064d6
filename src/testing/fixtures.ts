import { randomUUID } from 'node:crypto'
import type { KeyRecord, NewRefreshToken, SessionRecord, UserRecord } from '../storage/storage.js'

const DAY = 86_400_000

/** A user record with unique name and address, for storage tests. */
export function makeUser(overrides: Partial<UserRecord> = {}, now = Date.now()): UserRecord {
  const tag = randomUUID().slice(0, 8)
  return {
    id: randomUUID(),
    username: `user_${tag}`,
    email: `user_${tag}@example.com`,
    fullname: 'Test User',
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    roles: ['user'],
    emailVerified: false,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    mfa: { totp: false, passkeys: 0 },
    metadata: {},
    ...overrides,
  }
}

/** A live session of `userId`. */
export function makeSession(
  userId: string,
  overrides: Partial<SessionRecord> = {},
  now = Date.now(),
): SessionRecord {
  return {
    id: randomUUID(),
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 30 * DAY,
    idleExpiresAt: now + 7 * DAY,
    userAgent: 'conformance',
    ip: '127.0.0.1',
    revokedAt: null,
    revokedReason: null,
    authTime: now,
    amr: ['pwd'],
    dpopJkt: null,
    ...overrides,
  }
}

/** A refresh-token row of `sessionId` with a unique (fake) hash. */
export function makeToken(
  sessionId: string,
  overrides: Partial<NewRefreshToken> = {},
  now = Date.now(),
): NewRefreshToken {
  const jti = randomUUID()
  return {
    jti,
    tokenHash: (randomUUID() + randomUUID()).replace(/-/g, '').slice(0, 64),
    sessionId,
    parentJti: null,
    issuedAt: now,
    expiresAt: now + 7 * DAY,
    ...overrides,
  }
}

/** A signing-key row (the key material is a placeholder: storage does not read it). */
export function makeKey(overrides: Partial<KeyRecord> = {}, now = Date.now()): KeyRecord {
  const kid = randomUUID()
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: kid, kid }),
    privateJwk: `v1.sealed.${kid}`,
    createdAt: now,
    rotatedAt: null,
    retiredAt: null,
    ...overrides,
  }
}
