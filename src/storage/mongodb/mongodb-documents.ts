import type { Filter } from 'mongodb'
import type {
  EmailTokenRecord,
  KeyRecord,
  NewRefreshToken,
  PasskeyRecord,
  SessionRecord,
  TOTPFactorRecord,
  UserRecord,
} from '../storage.js'
import type { IdentityDoc } from './mongodb-identities.js'

/* The documents of the MongoDB adapter: the records of storage.ts under `_id`, with the few fields
 * that the indexes need; and the mappers between the two. */

/** A user document. `usernameKey` and `emailKey` are the lower-cased forms the unique indexes cover. */
export interface UserDoc extends Omit<UserRecord, 'id' | 'metadata'> {
  _id: string
  /**
   * The app's metadata as JSON text, absent on users stored before it: text rather than a
   * subdocument, so that the app's keys (`$set`, `a.b`) never read as operators or paths.
   */
  metadata?: string
  usernameKey: string
  emailKey: string
  /** The TOTP factor, absent while there is none: its changes are single-document updates. */
  totp?: Omit<TOTPFactorRecord, 'userId'>
  /** Hashes of the recovery codes and when each was used. */
  recoveryCodes?: { hash: string; usedAt: number | null }[]
  /** The passkeys; `credentialKey` (SHA-256 of the credential id) is what the unique index covers. */
  passkeys?: PasskeyDoc[]
  /** Linked provider accounts (mongodb-identities.ts); absent on users without one. */
  identities?: IdentityDoc[]
}

/** A passkey, kept inside its user's document. */
export interface PasskeyDoc extends Omit<PasskeyRecord, 'userId'> {
  credentialKey: string
}

/** A refresh token, kept inside its session's document. */
export interface TokenDoc extends Omit<NewRefreshToken, 'sessionId'> {
  usedAt: number | null
  /** The token that replaced this one, once it is used (absent on tokens stored before lineages). */
  successorJti?: string | null
  /** That successor, sealed under a key derived from this token; cleared after the grace window. */
  successorSealed?: string | null
}

/** A session and its refresh tokens: one document, so that a rotation is one atomic update. */
export interface SessionDoc extends Omit<SessionRecord, 'id'> {
  _id: string
  /** When the session dies (the earlier of its absolute and idle expiry), for the TTL index. */
  deadAt: Date
  refreshTokens: TokenDoc[]
}

/**
 * The current mail token of one user and purpose. Its `_id` is `purpose:userId`, so that a new
 * token replaces the old one in one atomic upsert (a new link supersedes the old).
 */
export interface EmailTokenDoc extends EmailTokenRecord {
  _id: string
  usedAt: number | null
  /** `expiresAt` as a Date, for the TTL index. */
  expireAt: Date
}

export interface KeyDoc extends Omit<KeyRecord, 'kid'> {
  _id: string
}

export function userDoc(user: UserRecord): UserDoc {
  return {
    _id: user.id,
    username: user.username,
    usernameKey: user.username.toLowerCase(),
    email: user.email,
    emailKey: user.email.toLowerCase(),
    fullname: user.fullname,
    passwordHash: user.passwordHash,
    roles: [...user.roles],
    emailVerified: user.emailVerified,
    disabledAt: user.disabledAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    mfa: { totp: user.mfa.totp, passkeys: user.mfa.passkeys },
    metadata: JSON.stringify(user.metadata),
  }
}

export function userFromDoc(doc: UserDoc): UserRecord {
  return {
    id: doc._id,
    username: doc.username,
    email: doc.email,
    fullname: doc.fullname,
    passwordHash: doc.passwordHash,
    roles: [...doc.roles],
    emailVerified: doc.emailVerified,
    disabledAt: doc.disabledAt ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    mfa: { totp: doc.mfa?.totp === true, passkeys: doc.mfa?.passkeys ?? 0 },
    metadata: doc.metadata ? (JSON.parse(doc.metadata) as UserRecord['metadata']) : {},
  }
}

/** A new session's document, which holds its first token: they are stored together or not at all. */
export function sessionDoc(session: SessionRecord, firstToken: NewRefreshToken): SessionDoc {
  return {
    _id: session.id,
    userId: session.userId,
    createdAt: session.createdAt,
    lastUsedAt: session.lastUsedAt,
    expiresAt: session.expiresAt,
    idleExpiresAt: session.idleExpiresAt,
    userAgent: session.userAgent,
    ip: session.ip,
    revokedAt: session.revokedAt,
    revokedReason: session.revokedReason,
    authTime: session.authTime,
    amr: [...session.amr],
    dpopJkt: session.dpopJkt,
    deadAt: new Date(Math.min(session.expiresAt, session.idleExpiresAt)),
    refreshTokens: [tokenDoc(firstToken)],
  }
}

export function sessionFromDoc(doc: Omit<SessionDoc, 'refreshTokens'>): SessionRecord {
  return {
    id: doc._id,
    userId: doc.userId,
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt,
    expiresAt: doc.expiresAt,
    idleExpiresAt: doc.idleExpiresAt,
    userAgent: doc.userAgent ?? null,
    ip: doc.ip ?? null,
    revokedAt: doc.revokedAt ?? null,
    revokedReason: doc.revokedReason ?? null,
    authTime: doc.authTime ?? doc.createdAt,
    amr: doc.amr ? [...doc.amr] : ['pwd'],
    dpopJkt: doc.dpopJkt ?? null,
  }
}

/** A new, unused refresh token. */
export function tokenDoc(token: NewRefreshToken): TokenDoc {
  return {
    jti: token.jti,
    tokenHash: token.tokenHash,
    parentJti: token.parentJti,
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
    usedAt: null,
  }
}

/** A new, unused mail token, without its `_id` (the replace names it). */
export function emailTokenDoc(token: EmailTokenRecord): Omit<EmailTokenDoc, '_id'> {
  return {
    tokenHash: token.tokenHash,
    userId: token.userId,
    purpose: token.purpose,
    email: token.email,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    usedAt: null,
    expireAt: new Date(token.expiresAt),
  }
}

export function emailTokenFromDoc(doc: EmailTokenDoc): EmailTokenRecord {
  return {
    tokenHash: doc.tokenHash,
    userId: doc.userId,
    purpose: doc.purpose,
    email: doc.email,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
  }
}

export function keyDoc(key: KeyRecord): KeyDoc {
  return {
    _id: key.kid,
    alg: key.alg,
    publicJwk: key.publicJwk,
    privateJwk: key.privateJwk,
    createdAt: key.createdAt,
    rotatedAt: key.rotatedAt,
    retiredAt: key.retiredAt,
  }
}

export function keyFromDoc(doc: KeyDoc): KeyRecord {
  return {
    kid: doc._id,
    alg: doc.alg,
    publicJwk: doc.publicJwk,
    privateJwk: doc.privateJwk,
    createdAt: doc.createdAt,
    rotatedAt: doc.rotatedAt ?? null,
    retiredAt: doc.retiredAt ?? null,
  }
}

/** Sessions that are neither revoked nor expired at `now`. */
export function liveSessionFilter(now: number): Filter<SessionDoc> {
  return { revokedAt: null, expiresAt: { $gt: now }, idleExpiresAt: { $gt: now } }
}

/** Sessions dead at `now` (absolute or idle expiry), revoked or not. */
export function deadSessionFilter(now: number): Filter<SessionDoc> {
  return { $or: [{ expiresAt: { $lte: now } }, { idleExpiresAt: { $lte: now } }] }
}

/** Leaves the token array out of what a session update returns. */
export const WITHOUT_TOKENS = { refreshTokens: 0 } as const
