import type { Kysely, Transaction } from 'kysely'
import type { EmailTokenPurpose, EmailTokenRecord } from '../storage.js'
import type { Database } from './schema.js'
import { emailTokenFromRow, emailTokenRow } from './sql-rows.js'
import type { SQLTraits } from './sql-traits.js'

/* The bodies of the mail-token operations, each run in one transaction by SQLStorage. */

/**
 * Stores `token` and deletes the user's other unused tokens of its purpose (a new link supersedes
 * the old).
 */
export async function replaceEmailTokenInTransaction(
  trx: Transaction<Database>,
  traits: SQLTraits,
  token: EmailTokenRecord,
): Promise<void> {
  if (traits.lockOwnerRowFirst) {
    await trx.selectFrom('tp_users').select('id').where('id', '=', token.userId).forUpdate().execute()
  }
  await trx
    .deleteFrom('tp_email_tokens')
    .where('user_id', '=', token.userId)
    .where('purpose', '=', token.purpose)
    .where('used_at', 'is', null)
    .execute()
  await trx.insertInto('tp_email_tokens').values(emailTokenRow(token)).execute()
}

/**
 * Marks the token used if it is unused, of `purpose` and unexpired, and returns it; else `null`.
 */
export async function consumeEmailTokenInTransaction(
  trx: Transaction<Database>,
  tokenHash: string,
  purpose: EmailTokenPurpose,
  now: number,
): Promise<EmailTokenRecord | null> {
  // The conditional UPDATE is the compare-and-set: only one caller can flip used_at.
  const won = await trx
    .updateTable('tp_email_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst()
  if (won.numUpdatedRows === 0n) return null
  const row = await trx
    .selectFrom('tp_email_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirstOrThrow()
  return emailTokenFromRow(row)
}

/** The token if it is unused, of `purpose` and unexpired; else `null`. Reads only. */
export async function selectPendingEmailToken(
  db: Kysely<Database>,
  tokenHash: string,
  purpose: EmailTokenPurpose,
  now: number,
): Promise<EmailTokenRecord | null> {
  const row = await db
    .selectFrom('tp_email_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst()
  return row ? emailTokenFromRow(row) : null
}
