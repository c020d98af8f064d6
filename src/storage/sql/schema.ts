import type { ColumnType } from 'kysely'

/**
 * Integer columns that hold epoch milliseconds or flags. Drivers may hand BIGINT back as a string
 * or a bigint (pg, mysql2 with some settings), so every read goes through `toNumber`.
 */
type Int = ColumnType<number, number, number>
type NullableInt = ColumnType<number | null, number | null, number | null>

export interface UsersTable {
  id: string
  username: string
  email: string
  fullname: string
  password_hash: string
  /** JSON array of role names. */
  roles: string
  email_verified: Int
  disabled_at: NullableInt
  created_at: Int
  updated_at: Int
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: Int
  last_used_at: Int
  expires_at: Int
  idle_expires_at: Int
  user_agent: string | null
  ip: string | null
  revoked_at: NullableInt
  revoked_reason: string | null
}

export interface RefreshTokensTable {
  jti: string
  token_hash: string
  session_id: string
  parent_jti: string | null
  issued_at: Int
  expires_at: Int
  used_at: NullableInt
  /** The token that replaced this one, once it is used. */
  successor_jti: ColumnType<string | null, string | null | undefined, string | null>
  /** That successor, sealed under a key derived from this token; cleared after the grace window. */
  successor_sealed: ColumnType<string | null, string | null | undefined, string | null>
}

export interface SigningKeysTable {
  kid: string
  alg: string
  public_jwk: string
  private_jwk: string
  created_at: Int
  rotated_at: NullableInt
  retired_at: NullableInt
}

export interface EmailTokensTable {
  token_hash: string
  user_id: string
  purpose: string
  email: string
  created_at: Int
  expires_at: Int
  used_at: NullableInt
}

export interface IdentitiesTable {
  id: string
  /** Hex SHA-256 of `issuer` and `subject`: the unique key, the same bytes in every collation. */
  identity_key: string
  user_id: string
  provider: string
  issuer: string
  subject: string
  email: string | null
  created_at: Int
}

/** The tables of the SQL adapter. */
export interface Database {
  tp_users: UsersTable
  tp_sessions: SessionsTable
  tp_refresh_tokens: RefreshTokensTable
  tp_signing_keys: SigningKeysTable
  tp_email_tokens: EmailTokensTable
  tp_identities: IdentitiesTable
}

/** Reads an integer column whatever type the driver chose for it. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value)
}

/** Reads a nullable integer column. */
export function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value)
}
