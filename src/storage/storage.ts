/**
 * The Storage interface: the domain's few operations, which each database adapter implements and
 * the conformance suite (`tokenpair/testing`) pins down. Times are epoch milliseconds; ids are
 * opaque strings made by the caller. Adapters know nothing of HTTP or tokens' formats.
 */

import type { FactorStorage } from './factor-storage.js'

export type * from './factor-storage.js'

/** A user as stored. `username` and `email` are already trimmed and lower-cased. */
export interface UserRecord {
  id: string
  username: string
  email: string
  fullname: string
  /** argon2id PHC string. Never leaves the server. */
  passwordHash: string
  roles: string[]
  emailVerified: boolean
  /** When the user was disabled, or `null`. A disabled user cannot log in or refresh. */
  disabledAt: number | null
  createdAt: number
  updatedAt: number
  /**
   * The user's factors beyond the password: whether TOTP is on and how many passkeys they hold.
   * Kept by the adapter as factors change (`Storage.factors`); `createUser` stores it as given.
   */
  mfa: UserFactors
  /**
   * The app's own data on the user, a JSON object (at most 4 KiB serialized: the domain checks the
   * size and the app's schema before it reaches storage). `{}` for a user stored before it existed.
   */
  metadata: UserMetadata
}

/** The app's own data on a user: a JSON object. */
export type UserMetadata = Record<string, unknown>

/** A user's factors beyond the password, as the user object shows them. */
export interface UserFactors {
  totp: boolean
  passkeys: number
}

/** One login on one device. */
export interface SessionRecord {
  id: string
  userId: string
  createdAt: number
  lastUsedAt: number
  /** Absolute end of the session (`SESSION_MAX_AGE` after login). */
  expiresAt: number
  /** Expiry of the session's newest refresh token: the session is dead after it (idle timeout). */
  idleExpiresAt: number
  userAgent: string | null
  ip: string | null
  revokedAt: number | null
  revokedReason: RevokeReason | null
  /** When the session last authenticated (login or re-authentication): the tokens' `auth_time`. */
  authTime: number
  /**
   * How it authenticated (RFC 8176 method values: `pwd`, `otp`, `hwk`, `mfa`, `fed`, ...): the
   * tokens' `amr`. An open list, so that new ways in add their own values.
   */
  amr: string[]
  /**
   * The RFC 7638 thumbprint of the DPoP key the session is bound to, or `null` for an unbound
   * session (and sessions stored before this field). The tokens carry the binding themselves
   * (`cnf.jkt`); this copy is what the session list shows.
   */
  dpopJkt: string | null
}

/**
 * Whether a session is live at `now`: not revoked, and before both its absolute and its idle
 * expiry. The one rule that every adapter's queries and every domain check apply.
 */
export function isSessionLive(session: SessionRecord, now: number): boolean {
  return session.revokedAt === null && session.expiresAt > now && session.idleExpiresAt > now
}

/** Why a session ended. */
export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'session_deleted'
  | 'password_changed'
  | 'password_reset'
  | 'factor_changed'
  | 'reuse_detected'
  | 'user_disabled'
  | 'session_limit'
  | 'admin'

/** A revoked session, as {@link Storage.listRevokedSessions} lists it. */
export interface RevokedSession {
  /** The session's id: the `sid` of its tokens. */
  sid: string
  userId: string
  revokedAt: number
}

/** A refresh token to store: its hash, never the token. */
export interface NewRefreshToken {
  jti: string
  /** Hex SHA-256 of the whole token. */
  tokenHash: string
  sessionId: string
  /** The `jti` of the token this one replaced, or `null` for the first of a session. */
  parentJti: string | null
  issuedAt: number
  expiresAt: number
}

/** Input of {@link Storage.consumeRefreshToken}. */
export interface ConsumeRefreshTokenInput {
  /** Hash of the presented token. */
  tokenHash: string
  /** `sid` of the presented token: a token whose row names another session is unknown. */
  sessionId: string
  /** Now. */
  now: number
  /** `REFRESH_REUSE_GRACE` in milliseconds; `0` turns the grace window off. */
  graceMs: number
  /**
   * The token to store if the presented one is honoured. Its `parentJti` names the presented
   * token (the caller reads it from the token's claims); when `null`, the adapter reads it.
   */
  next: NewRefreshToken
  /**
   * `next`'s token itself, sealed under a key derived from the presented token (opaque text). A
   * rotation keeps it beside the presented token, so that a grace answer can hand out the same
   * successor again to whoever still holds the presented token, and to nobody else: the database
   * alone never yields a usable token.
   */
  sealedNext: string
}

/**
 * The successor a grace answer repeats: the live token of the lineage, and the sealed values that
 * lead to it from the presented token. `sealed[0]` opens with a key derived from the presented
 * token and holds its successor; each next one opens with a key derived from the token before.
 */
export interface GraceSuccessor {
  /** The live token's `jti`. */
  jti: string
  /** The live token's expiry. */
  expiresAt: number
  /** The chain of sealed successors, presented token's first; at least one. */
  sealed: readonly string[]
}

/**
 * Outcome of a consume:
 * - `rotated`: the token was unused; it is now used, `next` is stored and `sealedNext` kept
 *   beside the presented token.
 * - `grace`: the token was used less than `graceMs` ago; nothing is stored, and `successor` leads
 *   to the lineage's live token, which the first use issued (or its own successor since).
 * - `reused`: the token was used longer ago; the session is now revoked (`reuse_detected`).
 * - `invalid`: unknown token, expired token, or a revoked or expired session.
 */
export type ConsumeResult =
  | { status: 'rotated'; session: SessionRecord }
  | { status: 'grace'; session: SessionRecord; successor: GraceSuccessor }
  | { status: 'reused'; session: SessionRecord }
  | { status: 'invalid' }

/** Longest lineage a grace answer walks: within one grace window a lineage rotates a few times at most. */
export const MAX_GRACE_CHAIN = 32

/** A signing key. Private material is encrypted by the caller before it reaches storage. */
export interface KeyRecord {
  kid: string
  alg: string
  /** Public JWK as JSON text. */
  publicJwk: string
  /** Encrypted private JWK (opaque text). */
  privateJwk: string
  createdAt: number
  /** When the key stopped signing (a newer key took over), or `null` while it is current. */
  rotatedAt: number | null
  /** When the key was retired early: its tokens are refused and it leaves JWKS. */
  retiredAt: number | null
}

/** What a mail token is for. A token of one purpose is never valid for another. */
export type EmailTokenPurpose = 'verify_email' | 'reset_password'

/** A single-use mail token (verification or reset link): its hash, never the token. */
export interface EmailTokenRecord {
  /** Hex SHA-256 of the token. */
  tokenHash: string
  userId: string
  purpose: EmailTokenPurpose
  /** The address the link was mailed to: verifying it only counts while it is still the user's. */
  email: string
  createdAt: number
  expiresAt: number
}

/**
 * A provider account linked to a user (sign-in with an identity provider). Its key is the
 * provider's issuer and subject (`iss` + `sub`), never the email: an address can change hands at
 * a provider, a subject does not.
 */
export interface IdentityRecord {
  id: string
  userId: string
  /** The configured provider's name (`google`), for display; the key does not depend on it. */
  provider: string
  /** The provider's `iss` (for GitHub, its web origin). */
  issuer: string
  /** The provider's `sub` for the person (for GitHub, the numeric user id): case-sensitive. */
  subject: string
  /** The address the provider gave at linking, or `null`. */
  email: string | null
  createdAt: number
}

/** Fields of a user that {@link Storage.updateUser} may change. */
export interface UserUpdate {
  fullname?: string
  email?: string
  emailVerified?: boolean
  /** Replaces the roles whole. */
  roles?: string[]
  /** Replaces the metadata whole. */
  metadata?: UserMetadata
}

/** Counts of rows removed by {@link Storage.deleteExpired}. */
export interface SweepResult {
  sessions: number
  refreshTokens: number
  emailTokens: number
  /** Sealed successors cleared: those of tokens used before the grace window. */
  sealedSuccessors: number
  /**
   * Expired challenges deleted (`factors.deleteExpiredChallenges`): set by the sweeper, which runs
   * both; `deleteExpired` itself leaves it out.
   */
  challenges?: number
}

/** Options of {@link Storage.deleteExpired}. */
export interface SweepOptions {
  /**
   * `REFRESH_REUSE_GRACE` in milliseconds: sealed successors of tokens used more than this long
   * ago are cleared, since no grace answer can hand them out any more. Default `0`: all are.
   */
  graceMs?: number
}

/**
 * What an adapter can do beyond the contract. Each flag documents its default.
 */
export interface StorageCapabilities {
  /** Several processes may share this storage (false for `sqlite::memory:`). Default `true`. */
  readonly sharedAcrossProcesses: boolean
}

/**
 * The contract every adapter meets (the conformance suite checks each point):
 * - `createUser` enforces unique `username` and `email` in the database itself and throws
 *   `AuthError('username_taken' | 'email_taken')`; never a read-then-write check.
 * - `consumeRefreshToken` is atomic: under concurrent calls on one token, exactly one returns
 *   `rotated`; the compare-and-set and the insert of `next` commit together or not at all.
 * - An identity's `issuer` + `subject` is unique in the database itself (compared exactly), so
 *   that one provider account is linked to one user at most, whatever the races.
 * - A database that cannot be reached makes any method throw `AuthError('unavailable')`.
 */
export interface Storage {
  readonly capabilities: StorageCapabilities
  /** The second factor's records: TOTP, recovery codes, passkeys, challenges (factor-storage.ts). */
  readonly factors: FactorStorage

  /** Creates or upgrades the schema. Safe to run from several processes at once. */
  migrate(): Promise<void>
  /** Resolves when the database answers; throws `AuthError('unavailable')` otherwise. */
  ping(): Promise<void>
  /** Closes connections. */
  close(): Promise<void>

  /** Inserts a user. Throws `username_taken` or `email_taken` on a duplicate. */
  createUser(user: UserRecord): Promise<void>
  /** The user with this id, or `null`. */
  findUserById(id: string): Promise<UserRecord | null>
  /** The user whose username or email equals `login` (already lower-cased), or `null`. */
  findUserByLogin(login: string): Promise<UserRecord | null>
  /** Replaces the password hash; returns whether the user exists. */
  updatePasswordHash(userId: string, passwordHash: string, now: number): Promise<boolean>
  /** Changes profile fields; returns the updated user or `null`. Throws `email_taken` on a duplicate. */
  updateUser(userId: string, update: UserUpdate, now: number): Promise<UserRecord | null>
  /** Sets (`disabledAt` a time) or clears (`null`) a user's disabled mark; returns whether the user exists. */
  setUserDisabled(userId: string, disabledAt: number | null, now: number): Promise<boolean>
  /** Users ordered by creation (oldest first), for administration. */
  listUsers(options: { limit: number; offset: number }): Promise<UserRecord[]>

  /** Inserts a session and its first refresh token together. */
  createSession(session: SessionRecord, firstToken: NewRefreshToken): Promise<void>
  /** The session with this id (revoked or not), or `null`. */
  findSession(id: string): Promise<SessionRecord | null>
  /**
   * The session with this id and its user, in one read (a join): what a rotation reads first.
   * `null` when either is missing. Optional: without it a rotation reads `findSession` and
   * `findUserById` side by side.
   */
  findSessionWithUser?(id: string): Promise<{ session: SessionRecord; user: UserRecord } | null>
  /** Sessions of `userId` that are not revoked and not expired (absolute or idle) at `now`, newest first. */
  listActiveSessions(userId: string, now: number): Promise<SessionRecord[]>
  /** Revokes one session of `userId` if it is active; returns whether it did. */
  revokeSession(sessionId: string, userId: string, reason: RevokeReason, now: number): Promise<boolean>
  /** Revokes every active session of `userId` except `exceptSessionId`; returns how many. */
  revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    options?: { exceptSessionId?: string },
  ): Promise<number>

  /**
   * Sessions revoked at or after `since`, newest first, at most `limit` (the revocation feed that
   * other services poll). Sessions a sweep deleted are no longer listed.
   */
  listRevokedSessions(since: number, limit: number): Promise<RevokedSession[]>

  /** Consumes a refresh token atomically: see {@link ConsumeResult}. */
  consumeRefreshToken(input: ConsumeRefreshTokenInput): Promise<ConsumeResult>

  /**
   * Stores a mail token and deletes the user's other unused tokens of the same purpose, so that a
   * new request supersedes the old link.
   */
  createEmailToken(token: EmailTokenRecord): Promise<void>
  /**
   * Deletes the unused mail tokens of `userId` for `purpose` (the reset links outstanding when a
   * password changes); returns how many.
   */
  deleteUnusedEmailTokens(userId: string, purpose: EmailTokenPurpose): Promise<number>
  /**
   * The mail token of this hash if it is unused, of `purpose` and unexpired at `now`, without
   * consuming it; else `null`. (A reset reads it to check the new password before it spends it.)
   */
  findEmailToken(tokenHash: string, purpose: EmailTokenPurpose, now: number): Promise<EmailTokenRecord | null>
  /**
   * Consumes a mail token atomically: under concurrent calls exactly one gets the record, the
   * others `null`; so do unknown, expired, used and other-purpose tokens.
   */
  consumeEmailToken(
    tokenHash: string,
    purpose: EmailTokenPurpose,
    now: number,
  ): Promise<EmailTokenRecord | null>

  /**
   * Inserts a user and its first identity together (a first sign-in with a provider): both or
   * neither. Throws `username_taken` or `email_taken` on a duplicate user; returns `false`, having
   * written nothing, when the identity's `issuer` + `subject` is already linked.
   */
  createUserWithIdentity(user: UserRecord, identity: IdentityRecord): Promise<boolean>
  /** Links an identity to its user; `false` when its `issuer` + `subject` is already linked (to anyone). */
  createIdentity(identity: IdentityRecord): Promise<boolean>
  /** The identity of this `issuer` + `subject` (compared exactly), or `null`. */
  findIdentity(issuer: string, subject: string): Promise<IdentityRecord | null>
  /** The identities of `userId`, oldest first. */
  listIdentities(userId: string): Promise<IdentityRecord[]>
  /** Unlinks one identity of `userId`; returns whether it did (`false` for another user's). */
  deleteIdentity(id: string, userId: string): Promise<boolean>

  /** Every signing key, retired ones included, newest first. */
  listKeys(): Promise<KeyRecord[]>
  /** Inserts a key, and marks every other non-rotated key of the same `alg` rotated at its `createdAt`. */
  insertKey(key: KeyRecord): Promise<void>
  /** Marks a key retired; returns whether it existed and was not retired. */
  retireKey(kid: string, now: number): Promise<boolean>

  /**
   * Deletes sessions dead before `now` (with their tokens), refresh and mail tokens expired before
   * `now`, and clears the sealed successors of tokens used before the grace window.
   */
  deleteExpired(now: number, options?: SweepOptions): Promise<SweepResult>
}
