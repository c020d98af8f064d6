import type { Kysely, Transaction } from 'kysely'
import type { KeyRecord } from '../storage.js'
import type { Database } from './schema.js'
import { keyFromRow, keyRow } from './sql-rows.js'

/* The bodies of the signing-key operations, run by SQLStorage inside its guard. */

/** Every key, newest first (the kid breaks ties so that the order is stable). */
export async function selectKeys(db: Kysely<Database>): Promise<KeyRecord[]> {
  const rows = await db
    .selectFrom('tp_signing_keys')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('kid', 'desc')
    .execute()
  return rows.map(keyFromRow)
}

/** Stores `key` as the current key of its algorithm; the previous current key is rotated out. */
export async function insertKeyInTransaction(trx: Transaction<Database>, key: KeyRecord): Promise<void> {
  await trx
    .updateTable('tp_signing_keys')
    .set({ rotated_at: key.createdAt })
    .where('alg', '=', key.alg)
    .where('rotated_at', 'is', null)
    .execute()
  await trx.insertInto('tp_signing_keys').values(keyRow(key)).execute()
}

/** Marks `kid` retired; false when it is unknown or already retired. */
export async function retireKey(db: Kysely<Database>, kid: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('tp_signing_keys')
    .set({ retired_at: now })
    .where('kid', '=', kid)
    .where('retired_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
