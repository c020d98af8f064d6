import type { Expression, ExpressionBuilder, Insertable, Selectable, SqlBool, Updateable } from 'kysely'
import type * as model from '../storage.js'
import {
  type Database,
  type EmailTokensTable,
  type RefreshTokensTable,
  type SessionsTable,
  type SigningKeysTable,
  toNullableNumber,
  toNumber,
  type UsersTable,
} from './schema.js'

/* The records of storage.ts as rows of schema.ts and back, and the conditions on sessions that
 * several statements share. */

/** A condition on `tp_sessions`, for `.where(…)` of a select, update or delete on that table. */
export type SessionCondition = (eb: ExpressionBuilder<Database, 'tp_sessions'>) => Expression<SqlBool>

/**
 * Sessions live at `now`: not revoked, and before both their absolute and their idle expiry. The
 * same rule as `isSessionLive` (storage.ts), which applies it to a record in memory.
 */
export function matchLiveSession(now: number): SessionCondition {
  return (eb) =>
    eb.and([eb('revoked_at', 'is', null), eb('expires_at', '>', now), eb('idle_expires_at', '>', now)])
}

/** Sessions dead at `now` (absolute or idle expiry), revoked or not. */
export function matchDeadSession(now: number): SessionCondition {
  return (eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)])
}

export function userFromRow(row: Selectable<UsersTable>): model.UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    fullname: row.fullname,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    emailVerified: toNumber(row.email_verified) === 1,
    disabledAt: toNullableNumber(row.disabled_at),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
    mfa: { totp: toNumber(row.mfa_totp) === 1, passkeys: toNumber(row.mfa_passkeys) },
    metadata: row.metadata ? (JSON.parse(row.metadata) as model.UserMetadata) : {},
  }
}

export function userRow(user: model.UserRecord): Insertable<UsersTable> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    fullname: user.fullname,
    password_hash: user.passwordHash,
    roles: JSON.stringify(user.roles),
    email_verified: user.emailVerified ? 1 : 0,
    disabled_at: user.disabledAt,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    mfa_totp: user.mfa.totp ? 1 : 0,
    mfa_passkeys: user.mfa.passkeys,
    metadata: JSON.stringify(user.metadata),
  }
}

/** The columns an update of a user sets: those of `update`, and `updated_at`. */
export function userUpdateRow(update: model.UserUpdate, now: number): Updateable<UsersTable> {
  const set: Updateable<UsersTable> = { updated_at: now }
  if (update.fullname !== undefined) set.fullname = update.fullname
  if (update.email !== undefined) set.email = update.email
  if (update.emailVerified !== undefined) set.email_verified = update.emailVerified ? 1 : 0
  if (update.roles !== undefined) set.roles = JSON.stringify(update.roles)
  if (update.metadata !== undefined) set.metadata = JSON.stringify(update.metadata)
  return set
}

/** A session's columns under `s_` names, for a read that joins the session (`s`) to its user. */
export const SESSION_COLUMNS_AS = [
  's.id as s_id',
  's.user_id as s_user_id',
  's.created_at as s_created_at',
  's.last_used_at as s_last_used_at',
  's.expires_at as s_expires_at',
  's.idle_expires_at as s_idle_expires_at',
  's.user_agent as s_user_agent',
  's.ip as s_ip',
  's.revoked_at as s_revoked_at',
  's.revoked_reason as s_revoked_reason',
  's.auth_time as s_auth_time',
  's.amr as s_amr',
  's.dpop_jkt as s_dpop_jkt',
] as const satisfies readonly `s.${keyof SessionsTable} as s_${keyof SessionsTable}`[]

type JoinedSessionRow = { [K in keyof Selectable<SessionsTable> as `s_${K}`]: Selectable<SessionsTable>[K] }

/** The session of a row read with {@link SESSION_COLUMNS_AS}. */
export function sessionFromJoinedRow(row: JoinedSessionRow): model.SessionRecord {
  // Every `s_` column back under its own name: a column added to the list needs no line here.
  const columns = Object.entries(row).filter(([name]) => name.startsWith('s_'))
  return sessionFromRow(
    Object.fromEntries(columns.map(([name, value]) => [name.slice(2), value])) as Selectable<SessionsTable>,
  )
}

export function sessionFromRow(row: Selectable<SessionsTable>): model.SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNumber(row.last_used_at),
    expiresAt: toNumber(row.expires_at),
    idleExpiresAt: toNumber(row.idle_expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
    revokedAt: toNullableNumber(row.revoked_at),
    revokedReason: row.revoked_reason as model.RevokeReason | null,
    authTime: toNullableNumber(row.auth_time) ?? toNumber(row.created_at),
    amr: row.amr === null ? ['pwd'] : (JSON.parse(row.amr) as string[]),
    dpopJkt: row.dpop_jkt ?? null,
  }
}

export function sessionRow(session: model.SessionRecord): Insertable<SessionsTable> {
  return {
    id: session.id,
    user_id: session.userId,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    idle_expires_at: session.idleExpiresAt,
    user_agent: session.userAgent,
    ip: session.ip,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    auth_time: session.authTime,
    amr: JSON.stringify(session.amr),
    dpop_jkt: session.dpopJkt,
  }
}

/** A new, unused refresh token's row. */
export function tokenRow(token: model.NewRefreshToken): Insertable<RefreshTokensTable> {
  return {
    jti: token.jti,
    token_hash: token.tokenHash,
    session_id: token.sessionId,
    parent_jti: token.parentJti,
    issued_at: token.issuedAt,
    expires_at: token.expiresAt,
    used_at: null,
  }
}

export function emailTokenFromRow(row: Selectable<EmailTokensTable>): model.EmailTokenRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    purpose: row.purpose as model.EmailTokenPurpose,
    email: row.email,
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  }
}

/** A new, unused mail token's row. */
export function emailTokenRow(token: model.EmailTokenRecord): Insertable<EmailTokensTable> {
  return {
    token_hash: token.tokenHash,
    user_id: token.userId,
    purpose: token.purpose,
    email: token.email,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    used_at: null,
  }
}

export function keyFromRow(row: Selectable<SigningKeysTable>): model.KeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateJwk: row.private_jwk,
    createdAt: toNumber(row.created_at),
    rotatedAt: toNullableNumber(row.rotated_at),
    retiredAt: toNullableNumber(row.retired_at),
  }
}

export function keyRow(key: model.KeyRecord): Insertable<SigningKeysTable> {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: key.publicJwk,
    private_jwk: key.privateJwk,
    created_at: key.createdAt,
    rotated_at: key.rotatedAt,
    retired_at: key.retiredAt,
  }
}
