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
  /** `1` while TOTP is on. */
  mfa_totp: ColumnType<number, number | undefined, number>
  /** How many passkeys the user holds. */
  mfa_passkeys: ColumnType<number, number | undefined, number>
  /** The app's metadata as JSON text; `null` (rows from before it) reads as `{}`. */
  metadata: ColumnType<string | null, string | null | undefined, string | null>
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
  /** When the session last authenticated; `null` on sessions older than this column (read as created_at). */
  auth_time: ColumnType<number | null, number | null | undefined, number | null>
  /** JSON array of RFC 8176 method values; `null` on sessions older than this column (read as `["pwd"]`). */
  amr: ColumnType<string | null, string | null | undefined, string | null>
  /** The DPoP key thumbprint of a bound session; `null` otherwise. */
  dpop_jkt: ColumnType<string | null, string | null | undefined, string | null>
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

export interface TOTPFactorsTable {
  user_id: string
  secret: string | null
  enabled_at: NullableInt
  pending_secret: string | null
  pending_created_at: NullableInt
  last_step: NullableInt
}

export interface RecoveryCodesTable {
  user_id: string
  code_hash: string
  created_at: Int
  used_at: NullableInt
}

export interface PasskeysTable {
  id: string
  user_id: string
  /** Hex SHA-256 of `credential_id`: what the unique index covers. */
  credential_key: string
  credential_id: string
  public_key: string
  counter: Int
  /** JSON array of transports. */
  transports: string
  device_type: string
  backed_up: Int
  name: string
  created_at: Int
  last_used_at: NullableInt
}

export interface ChallengesTable {
  id: string
  purpose: string
  user_id: string | null
  challenge: string | null
  attempts: Int
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
  tp_totp_factors: TOTPFactorsTable
  tp_recovery_codes: RecoveryCodesTable
  tp_passkeys: PasskeysTable
  tp_challenges: ChallengesTable
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
