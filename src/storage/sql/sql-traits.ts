import type { RawBuilder } from 'kysely'
import type { StorageErrorKind } from '../storage-guard.js'

/**
 * How one SQL database differs from the others, as flags and small functions, so that the
 * storage code never branches on a database's name (kysely's `DialectAdapter` idea).
 */
export interface SQLTraits {
  /** Name for logs and test titles. */
  readonly name: string
  /**
   * Whether `SELECT … FOR UPDATE` exists. Used where a read inside a transaction must see the
   * newest committed row (MySQL's REPEATABLE READ would otherwise show a snapshot). SQLite has no
   * row locks (its writers are serialised). Default `false`.
   */
  readonly supportsForUpdate: boolean
  /**
   * Whether `UPDATE … RETURNING` exists (SQLite 3.35+, PostgreSQL; not MySQL or MariaDB), which
   * saves the read that follows a rotation's session update. Default `false`.
   */
  readonly supportsUpdateReturning?: boolean
  /**
   * A column modifier that makes comparisons and unique constraints case-insensitive, or `null`
   * when the database needs a unique index on `lower(column)` instead (`lowerCaseUniqueIndex`).
   */
  readonly caseInsensitiveColumn: RawBuilder<unknown> | null
  /** Whether to add unique indexes on `lower(username)` and `lower(email)`. Default `false`. */
  readonly lowerCaseUniqueIndex: boolean
  /**
   * Whether migration `0004_exact_names` turns the name and address columns binary, with unique
   * indexes on stored lower-cased copies: for a database whose case-insensitive collation also
   * folds accents (MySQL/MariaDB), so that lookups are exact. Default `false`.
   */
  readonly exactNameMigration?: boolean
  /**
   * Whether a transaction that writes several rows of one owner first locks the owner's row
   * (`SELECT … FOR UPDATE`): the session in a rotation, the user when a mail token replaces another.
   * Every such transaction on one owner then takes its locks in one order. MySQL needs it: InnoDB's
   * UPDATE takes a shared lock on each row its `EXISTS` subquery reads, and its DELETE locks the
   * index gap it scanned, so two such transactions would each hold a lock the other waits for (a
   * deadlock). Needs `supportsForUpdate`. Default `false`.
   */
  readonly lockOwnerRowFirst?: boolean
  /**
   * Whether a rotation's common case (the token unused, its session live) runs as one statement
   * of data-modifying CTEs (sql-rotation-cte.ts), one round trip instead of a transaction of five.
   * PostgreSQL only: SQLite and MySQL have no UPDATE or INSERT inside WITH. Default `false`.
   */
  readonly rotatesInOneStatement?: boolean
  /** Column type of epoch milliseconds. */
  readonly timeType: 'bigint' | 'integer'
  /** Classifies a driver error; `retry` makes the storage run the transaction again. */
  classifyError(error: unknown): StorageErrorKind
}

/** The message and code of a driver error, whatever its shape. */
export function describeDriverError(error: unknown): { code: string; message: string } {
  if (typeof error !== 'object' || error === null) return { code: '', message: String(error) }
  const e = error as {
    code?: unknown
    errno?: unknown
    message?: unknown
    constraint?: unknown
    detail?: unknown
  }
  const parts = [e.message, e.constraint, e.detail].filter((p): p is string => typeof p === 'string')
  return { code: typeof e.code === 'string' ? e.code : String(e.errno ?? ''), message: parts.join(' ') }
}

/** Which unique constraint a violation message names, by the column names in it. */
export function uniqueKindFromMessage(message: string): StorageErrorKind {
  if (/username/i.test(message)) return 'unique_username'
  if (/email/i.test(message)) return 'unique_email'
  return 'unique_other'
}

/** Socket-level failures that every driver reports with Node's error codes. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
