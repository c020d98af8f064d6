import type { Insertable, Kysely, Selectable, Transaction } from 'kysely'
import { identityKey } from '../identity-key.js'
import type { IdentityRecord } from '../storage.js'
import type { Database, IdentitiesTable } from './schema.js'
import { toNumber } from './schema.js'

/* The identity operations of SQLStorage: rows, and the statements it runs in its guard. */

function identityRow(identity: IdentityRecord): Insertable<IdentitiesTable> {
  return {
    id: identity.id,
    identity_key: identityKey(identity.issuer, identity.subject),
    user_id: identity.userId,
    provider: identity.provider,
    issuer: identity.issuer,
    subject: identity.subject,
    email: identity.email,
    created_at: identity.createdAt,
  }
}

function identityFromRow(row: Selectable<IdentitiesTable>): IdentityRecord {
  return {
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    createdAt: toNumber(row.created_at),
  }
}

/** Inserts the identity (inside the caller's transaction, or on its own). */
export async function insertIdentity(
  db: Kysely<Database> | Transaction<Database>,
  identity: IdentityRecord,
): Promise<void> {
  await db.insertInto('tp_identities').values(identityRow(identity)).execute()
}

/** The identity of `issuer` + `subject`, or `null`; exact, since the key is a hash. */
export async function selectIdentity(
  db: Kysely<Database>,
  issuer: string,
  subject: string,
): Promise<IdentityRecord | null> {
  const row = await db
    .selectFrom('tp_identities')
    .selectAll()
    .where('identity_key', '=', identityKey(issuer, subject))
    .executeTakeFirst()
  // The key is a hash: the row must also hold the very pair asked for.
  return row && row.issuer === issuer && row.subject === subject ? identityFromRow(row) : null
}

/** The identities of `userId`, oldest first. */
export async function selectIdentities(db: Kysely<Database>, userId: string): Promise<IdentityRecord[]> {
  const rows = await db
    .selectFrom('tp_identities')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute()
  return rows.map(identityFromRow)
}

/** Deletes one identity of `userId`; whether it did. */
export async function removeIdentity(db: Kysely<Database>, id: string, userId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('tp_identities')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** What runs before the identity's insert, in its transaction (the new user's insert, or nothing). */
export type IdentityInsertStep = (trx: Transaction<Database>) => Promise<unknown>

/**
 * Inserts `identity` after `before`, in one transaction, and answers `false` instead of the
 * driver's error when the identity's key was taken meanwhile (a unique violation of another index
 * than the users'). The re-check runs as a transaction too, on the connection that writes: it sees
 * a winner whose commit is still in flight (SQLite's group commit). Other failures go up unchanged.
 */
export async function insertIdentityUnlessTaken(
  transaction: <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>,
  identity: IdentityRecord,
  before: IdentityInsertStep,
  isOtherUniqueViolation: (error: unknown) => boolean,
): Promise<boolean> {
  try {
    await transaction(async (trx) => {
      await before(trx)
      await insertIdentity(trx, identity)
    })
    return true
  } catch (error) {
    const taken = (trx: Transaction<Database>) => selectIdentity(trx, identity.issuer, identity.subject)
    if (isOtherUniqueViolation(error) && (await transaction(taken))) return false
    throw error
  }
}
