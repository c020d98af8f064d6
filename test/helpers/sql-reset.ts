import { SQLStorage } from '../../src/storage/sql/sql-storage.js'
import type { Storage } from '../../src/storage/storage.js'

/** Empties every table of an SQL storage, for conformance cases that share one database. */
export async function resetSQLStorage(storage: Storage): Promise<void> {
  if (!(storage instanceof SQLStorage)) throw new TypeError('resetSQLStorage needs an SQLStorage')
  const db = storage.db
  await db.deleteFrom('tp_refresh_tokens').execute()
  await db.deleteFrom('tp_sessions').execute()
  await db.deleteFrom('tp_users').execute()
  await db.deleteFrom('tp_signing_keys').execute()
  await db.deleteFrom('tp_email_tokens').execute()
  await db.deleteFrom('tp_totp_factors').execute()
  await db.deleteFrom('tp_recovery_codes').execute()
  await db.deleteFrom('tp_passkeys').execute()
  await db.deleteFrom('tp_challenges').execute()
  await db.deleteFrom('tp_identities').execute()
}
