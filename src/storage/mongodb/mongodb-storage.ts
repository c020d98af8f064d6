import type { Collection, Db, Filter, MongoClient } from 'mongodb'
import { loadOptionalPeer } from '../../internal/optional-peer.js'
import type * as model from '../storage.js'
import { StorageGuard } from '../storage-guard.js'
import {
  type EmailTokenDoc,
  emailTokenDoc,
  emailTokenFromDoc,
  type KeyDoc,
  keyDoc,
  keyFromDoc,
  liveSessionFilter,
  type SessionDoc,
  sessionDoc,
  sessionFromDoc,
  type UserDoc,
  userDoc,
  userFromDoc,
  WITHOUT_TOKENS,
} from './mongodb-documents.js'
import { classifyMongoError } from './mongodb-errors.js'
import { type ChallengeDoc, MongoDBFactorStorage } from './mongodb-factors.js'
import { MongoDBIdentities } from './mongodb-identities.js'
import { createMongoDBIndexes } from './mongodb-indexes.js'
import { consumeRefreshTokenInSession } from './mongodb-rotation.js'
import { deleteExpiredDocuments } from './mongodb-sweep.js'

/** Options of {@link createMongoDBStorage}. */
export interface MongoDBStorageOptions {
  /**
   * `mongodb://…` or `mongodb+srv://…`. Driver settings ride in its query as usual
   * (`?maxPoolSize=20&replicaSet=rs0`).
   */
  url: string
  /** Database name. Default: the URL's path, else `tokenpair`. */
  database?: string
  /** Prefix of the collection names. Default `tp_`. */
  collectionPrefix?: string
  /**
   * How long (milliseconds) MongoDB's TTL monitor keeps a dead session or an expired mail token
   * before deleting it by itself. `deleteExpired` removes them sooner; the TTL index is the
   * backstop that needs no sweeper. Default one day.
   */
  expiredRetentionMs?: number
  /**
   * How long (milliseconds) an operation waits for a reachable server before `unavailable`, unless
   * the URL sets `serverSelectionTimeoutMS`. Default `5000` (the driver's own is 30 s).
   */
  serverSelectionTimeoutMs?: number
}

/**
 * The Storage of MongoDB, on the official driver. Every operation that must be atomic touches one
 * document, so it needs no multi-document transaction and works on a standalone server as on a
 * replica set (docs/mongodb.md says why each one is safe). The documents, the indexes, the
 * rotation and the sweep are in the files beside this one.
 */
export class MongoDBStorage implements model.Storage {
  readonly capabilities: model.StorageCapabilities = Object.freeze({ sharedAcrossProcesses: true })
  readonly factors: model.FactorStorage
  readonly #client: MongoClient
  readonly #db: Db
  readonly #users: Collection<UserDoc>
  readonly #sessions: Collection<SessionDoc>
  readonly #emailTokens: Collection<EmailTokenDoc>
  readonly #keys: Collection<KeyDoc>
  readonly #challenges: Collection<ChallengeDoc>
  readonly #retentionSeconds: number
  readonly #guard = new StorageGuard(classifyMongoError)
  readonly #identities: MongoDBIdentities

  /** Wraps a connected-on-demand client; {@link createMongoDBStorage} is the usual way in. */
  constructor(
    client: MongoClient,
    options: { database: string; collectionPrefix: string; expiredRetentionMs: number },
  ) {
    this.#client = client
    this.#db = client.db(options.database)
    const prefix = options.collectionPrefix
    this.#users = this.#db.collection<UserDoc>(`${prefix}users`)
    this.#sessions = this.#db.collection<SessionDoc>(`${prefix}sessions`)
    this.#emailTokens = this.#db.collection<EmailTokenDoc>(`${prefix}email_tokens`)
    this.#keys = this.#db.collection<KeyDoc>(`${prefix}signing_keys`)
    this.#challenges = this.#db.collection<ChallengeDoc>(`${prefix}challenges`)
    this.factors = new MongoDBFactorStorage({
      users: this.#users,
      sessions: this.#sessions,
      challenges: this.#challenges,
      run: (work) => this.#guard.run(work),
    })
    this.#retentionSeconds = Math.ceil(options.expiredRetentionMs / 1000)
    this.#identities = new MongoDBIdentities(this.#users)
  }

  /** The database, for tests and tools. */
  get db(): Db {
    return this.#db
  }

  migrate(): Promise<void> {
    return this.#guard.run(async () => {
      await createMongoDBIndexes(
        this.#db,
        {
          users: this.#users,
          sessions: this.#sessions,
          emailTokens: this.#emailTokens,
          keys: this.#keys,
          challenges: this.#challenges,
        },
        this.#retentionSeconds,
      )
      await this.#identities.createIndex()
    })
  }

  ping(): Promise<void> {
    return this.#guard.run(async () => {
      await this.#db.command({ ping: 1 })
    })
  }

  close(): Promise<void> {
    this.#guard.close()
    return this.#client.close()
  }

  createUserWithIdentity(user: model.UserRecord, identity: model.IdentityRecord): Promise<boolean> {
    return this.#guard.run(() => this.#identities.createUserWithIdentity(user, identity))
  }

  createIdentity(identity: model.IdentityRecord): Promise<boolean> {
    return this.#guard.run(() => this.#identities.createIdentity(identity))
  }

  findIdentity(issuer: string, subject: string): Promise<model.IdentityRecord | null> {
    return this.#guard.run(() => this.#identities.findIdentity(issuer, subject))
  }

  listIdentities(userId: string): Promise<model.IdentityRecord[]> {
    return this.#guard.run(() => this.#identities.listIdentities(userId))
  }

  deleteIdentity(id: string, userId: string): Promise<boolean> {
    return this.#guard.run(() => this.#identities.deleteIdentity(id, userId))
  }

  createUser(user: model.UserRecord): Promise<void> {
    return this.#guard.run(async () => {
      await this.#users.insertOne(userDoc(user))
    })
  }

  findUserById(id: string): Promise<model.UserRecord | null> {
    return this.#guard.run(async () => {
      const doc = await this.#users.findOne({ _id: id })
      return doc ? userFromDoc(doc) : null
    })
  }

  findUserByLogin(login: string): Promise<model.UserRecord | null> {
    return this.#guard.run(async () => {
      const key = login.toLowerCase()
      const doc = await this.#users.findOne({ $or: [{ usernameKey: key }, { emailKey: key }] })
      return doc ? userFromDoc(doc) : null
    })
  }

  /** Sets fields of one user; returns whether the user exists. */
  async #setUserFields(userId: string, set: Partial<UserDoc>): Promise<boolean> {
    const result = await this.#users.updateOne({ _id: userId }, { $set: set })
    return result.matchedCount > 0
  }

  updatePasswordHash(userId: string, passwordHash: string, now: number): Promise<boolean> {
    return this.#guard.run(() => this.#setUserFields(userId, { passwordHash, updatedAt: now }))
  }

  updateUser(userId: string, update: model.UserUpdate, now: number): Promise<model.UserRecord | null> {
    return this.#guard.run(async () => {
      const set: Partial<UserDoc> = { updatedAt: now }
      if (update.fullname !== undefined) set.fullname = update.fullname
      if (update.email !== undefined) {
        set.email = update.email
        set.emailKey = update.email.toLowerCase()
      }
      if (update.emailVerified !== undefined) set.emailVerified = update.emailVerified
      if (update.roles !== undefined) set.roles = [...update.roles]
      if (update.metadata !== undefined) set.metadata = JSON.stringify(update.metadata)
      const doc = await this.#users.findOneAndUpdate(
        { _id: userId },
        { $set: set },
        { returnDocument: 'after' },
      )
      return doc ? userFromDoc(doc) : null
    })
  }

  setUserDisabled(userId: string, disabledAt: number | null, now: number): Promise<boolean> {
    return this.#guard.run(() => this.#setUserFields(userId, { disabledAt, updatedAt: now }))
  }

  listUsers(options: { limit: number; offset: number }): Promise<model.UserRecord[]> {
    return this.#guard.run(async () => {
      // MongoDB reads limit(0) as "no limit"; SQL's LIMIT 0 returns nothing.
      if (options.limit <= 0) return []
      const docs = await this.#users
        .find({})
        .sort({ createdAt: 1, _id: 1 })
        .skip(options.offset)
        .limit(options.limit)
        .toArray()
      return docs.map(userFromDoc)
    })
  }

  createSession(session: model.SessionRecord, firstToken: model.NewRefreshToken): Promise<void> {
    return this.#guard.run(async () => {
      // One document holds the session and its first token: they are stored together or not at all.
      await this.#sessions.insertOne(sessionDoc(session, firstToken))
    })
  }

  findSession(id: string): Promise<model.SessionRecord | null> {
    return this.#guard.run(async () => {
      const doc = await this.#sessions.findOne({ _id: id }, { projection: WITHOUT_TOKENS })
      return doc ? sessionFromDoc(doc) : null
    })
  }

  listActiveSessions(userId: string, now: number): Promise<model.SessionRecord[]> {
    return this.#guard.run(async () => {
      const docs = await this.#sessions
        .find({ userId, ...liveSessionFilter(now) }, { projection: WITHOUT_TOKENS })
        .sort({ createdAt: -1, _id: -1 })
        .toArray()
      return docs.map(sessionFromDoc)
    })
  }

  revokeSession(id: string, userId: string, reason: model.RevokeReason, now: number): Promise<boolean> {
    return this.#guard.run(async () => {
      const result = await this.#sessions.updateOne(
        { _id: id, userId, ...liveSessionFilter(now) },
        { $set: { revokedAt: now, revokedReason: reason } },
      )
      return result.modifiedCount > 0
    })
  }

  revokeUserSessions(
    userId: string,
    reason: model.RevokeReason,
    now: number,
    options?: { exceptSessionId?: string },
  ): Promise<number> {
    return this.#guard.run(async () => {
      const filter: Filter<SessionDoc> = { userId, ...liveSessionFilter(now) }
      if (options?.exceptSessionId !== undefined) filter._id = { $ne: options.exceptSessionId }
      const result = await this.#sessions.updateMany(filter, {
        $set: { revokedAt: now, revokedReason: reason },
      })
      return result.modifiedCount
    })
  }

  listRevokedSessions(since: number, limit: number): Promise<model.RevokedSession[]> {
    return this.#guard.run(async () => {
      // MongoDB reads limit(0) as "no limit"; SQL's LIMIT 0 returns nothing.
      if (limit <= 0) return []
      const docs = await this.#sessions
        .find({ revokedAt: { $gte: since } }, { projection: { _id: 1, userId: 1, revokedAt: 1 } })
        .sort({ revokedAt: -1, _id: -1 })
        .limit(limit)
        .toArray()
      return docs.map((doc) => ({ sid: doc._id, userId: doc.userId, revokedAt: doc.revokedAt as number }))
    })
  }

  consumeRefreshToken(input: model.ConsumeRefreshTokenInput): Promise<model.ConsumeResult> {
    return this.#guard.run(() => consumeRefreshTokenInSession(this.#sessions, input))
  }

  createEmailToken(token: model.EmailTokenRecord): Promise<void> {
    return this.#guard.run(async () => {
      // One document per user and purpose: the replace is the supersede, atomic by itself.
      await this.#emailTokens.replaceOne({ _id: `${token.purpose}:${token.userId}` }, emailTokenDoc(token), {
        upsert: true,
      })
    })
  }

  deleteUnusedEmailTokens(userId: string, purpose: model.EmailTokenPurpose): Promise<number> {
    return this.#guard.run(async () => {
      const result = await this.#emailTokens.deleteOne({ _id: `${purpose}:${userId}`, usedAt: null })
      return result.deletedCount
    })
  }

  findEmailToken(tokenHash: string, purpose: model.EmailTokenPurpose, now: number) {
    return this.#guard.run(async () => {
      const doc = await this.#emailTokens.findOne({
        tokenHash,
        purpose,
        usedAt: null,
        expiresAt: { $gt: now },
      })
      return doc ? emailTokenFromDoc(doc) : null
    })
  }

  consumeEmailToken(
    tokenHash: string,
    purpose: model.EmailTokenPurpose,
    now: number,
  ): Promise<model.EmailTokenRecord | null> {
    return this.#guard.run(async () => {
      // The conditional update is the compare-and-set: only one caller can flip usedAt.
      const doc = await this.#emailTokens.findOneAndUpdate(
        { tokenHash, purpose, usedAt: null, expiresAt: { $gt: now } },
        { $set: { usedAt: now } },
        { returnDocument: 'before' },
      )
      return doc ? emailTokenFromDoc(doc) : null
    })
  }

  listKeys(): Promise<model.KeyRecord[]> {
    return this.#guard.run(async () => {
      const docs = await this.#keys.find({}).sort({ createdAt: -1, _id: -1 }).toArray()
      return docs.map(keyFromDoc)
    })
  }

  insertKey(key: model.KeyRecord): Promise<void> {
    return this.#guard.run(async () => {
      // Insert first, then rotate the others: a crash in between leaves two current keys of one
      // algorithm (the next insert settles it), never none.
      await this.#keys.insertOne(keyDoc(key))
      await this.#keys.updateMany(
        { alg: key.alg, rotatedAt: null, _id: { $ne: key.kid } },
        { $set: { rotatedAt: key.createdAt } },
      )
    })
  }

  retireKey(kid: string, now: number): Promise<boolean> {
    return this.#guard.run(async () => {
      const result = await this.#keys.updateOne({ _id: kid, retiredAt: null }, { $set: { retiredAt: now } })
      return result.modifiedCount > 0
    })
  }

  deleteExpired(now: number, options: model.SweepOptions = {}): Promise<model.SweepResult> {
    return this.#guard.run(() =>
      deleteExpiredDocuments(this.#sessions, this.#emailTokens, now, options.graceMs ?? 0),
    )
  }
}

/** The database named in a MongoDB URL's path, or `null`. */
function readDatabaseName(url: string): string | null {
  const name = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/i.exec(url)?.[1]
  return name ? decodeURIComponent(name) : null
}

/**
 * Opens a MongoDB database with the official `mongodb` driver (an optional peer dependency). The
 * client connects on first use; call `migrate()` to create the indexes.
 *
 * @example
 * ```ts
 * const storage = await createMongoDBStorage({ url: 'mongodb://127.0.0.1:27017/tokenpair' })
 * await storage.migrate()
 * ```
 */
export async function createMongoDBStorage(options: MongoDBStorageOptions): Promise<MongoDBStorage> {
  const { MongoClient } = await loadOptionalPeer(() => import('mongodb'), {
    name: 'mongodb',
    setting: 'DATABASE_URL',
    install: 'npm install mongodb',
    usedBy: 'MongoDB',
  })
  const settings: { serverSelectionTimeoutMS?: number; appName?: string } = {}
  // Options given to the constructor override the URL's, so only fill in what the URL leaves out.
  if (!/[?&]serverSelectionTimeoutMS=/i.test(options.url)) {
    settings.serverSelectionTimeoutMS = options.serverSelectionTimeoutMs ?? 5000
  }
  if (!/[?&]appName=/i.test(options.url)) settings.appName = 'tokenpair'
  const client = new MongoClient(options.url, settings)
  return new MongoDBStorage(client, {
    database: options.database ?? readDatabaseName(options.url) ?? 'tokenpair',
    collectionPrefix: options.collectionPrefix ?? 'tp_',
    expiredRetentionMs: options.expiredRetentionMs ?? 86_400_000,
  })
}
