import type { Collection, Db } from 'mongodb'
import type { EmailTokenDoc, KeyDoc, SessionDoc, UserDoc } from './mongodb-documents.js'
import type { ChallengeDoc } from './mongodb-factors.js'

/** The unique index of `usernameKey`: a duplicate that names it is a taken username. */
export const USERNAME_INDEX = 'tp_users_username'
/** The unique index of `emailKey`: a duplicate that names it is a taken address. */
export const EMAIL_INDEX = 'tp_users_email'

/** The collections of one MongoDB storage. */
export interface MongoDBCollections {
  users: Collection<UserDoc>
  sessions: Collection<SessionDoc>
  emailTokens: Collection<EmailTokenDoc>
  keys: Collection<KeyDoc>
  challenges: Collection<ChallengeDoc>
}

/**
 * Creates the indexes of the adapter (MongoDB's counterpart of the SQL migrations), with TTL indexes
 * that keep dead sessions and expired mail tokens `retentionSeconds` before MongoDB deletes them.
 */
export async function createMongoDBIndexes(
  db: Db,
  collections: MongoDBCollections,
  retentionSeconds: number,
): Promise<void> {
  const { users, sessions, emailTokens, keys, challenges } = collections
  // createIndex is idempotent for an identical index, so several processes may run this at once.
  await users.createIndex({ usernameKey: 1 }, { name: USERNAME_INDEX, unique: true })
  await users.createIndex({ emailKey: 1 }, { name: EMAIL_INDEX, unique: true })
  await users.createIndex({ createdAt: 1, _id: 1 }, { name: 'tp_users_created' })
  await sessions.createIndex({ userId: 1, createdAt: -1 }, { name: 'tp_sessions_user' })
  await sessions.createIndex({ expiresAt: 1 }, { name: 'tp_sessions_expires' })
  await sessions.createIndex({ idleExpiresAt: 1 }, { name: 'tp_sessions_idle' })
  await sessions.createIndex({ 'refreshTokens.expiresAt': 1 }, { name: 'tp_sessions_token_expires' })
  await ensureTTLIndex(db, sessions, 'deadAt', 'tp_sessions_ttl', retentionSeconds)
  await emailTokens.createIndex({ tokenHash: 1 }, { name: 'tp_email_tokens_hash', unique: true })
  await emailTokens.createIndex({ expiresAt: 1 }, { name: 'tp_email_tokens_expires' })
  await ensureTTLIndex(db, emailTokens, 'expireAt', 'tp_email_tokens_ttl', retentionSeconds)
  await keys.createIndex({ createdAt: -1, _id: -1 }, { name: 'tp_signing_keys_created' })
  // A credential belongs to one user; users without passkeys stay out of the unique index.
  await users.createIndex(
    { 'passkeys.credentialKey': 1 },
    {
      name: 'tp_users_passkey_credential',
      unique: true,
      partialFilterExpression: { 'passkeys.credentialKey': { $exists: true } },
    },
  )
  await users.createIndex({ 'passkeys.id': 1 }, { name: 'tp_users_passkey_id' })
  await challenges.createIndex({ expiresAt: 1 }, { name: 'tp_challenges_expires' })
  await ensureTTLIndex(db, challenges, 'expireAt', 'tp_challenges_ttl', 0)
}

/** Creates a TTL index, or changes its retention when a previous start used another one. */
async function ensureTTLIndex(
  db: Db,
  collection: Collection<SessionDoc> | Collection<EmailTokenDoc> | Collection<ChallengeDoc>,
  field: string,
  name: string,
  retentionSeconds: number,
): Promise<void> {
  try {
    await collection.createIndex({ [field]: 1 }, { name, expireAfterSeconds: retentionSeconds })
  } catch (error) {
    // IndexOptionsConflict (85): same key and name, another expireAfterSeconds.
    if ((error as { code?: unknown }).code !== 85) throw error
    await db.command({
      collMod: collection.collectionName,
      index: { name, expireAfterSeconds: retentionSeconds },
    })
  }
}
