import type { Collection, Db, Document, Filter, MongoClient } from 'mongodb'
import { AuthError } from '../../errors.js'
import type {
  ConsumeRefreshTokenInput,
  ConsumeResult,
  EmailTokenPurpose,
  EmailTokenRecord,
  KeyRecord,
  NewRefreshToken,
  RevokeReason,
  SessionRecord,
  Storage,
  StorageCapabilities,
  SweepResult,
  UserRecord,
  UserUpdate,
} from '../storage.js'

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

/** A user document. `usernameKey` and `emailKey` are the lower-cased forms the unique indexes cover. */
interface UserDoc {
  _id: string
  username: string
  usernameKey: string
  email: string
  emailKey: string
  fullname: string
  passwordHash: string
  roles: string[]
  emailVerified: boolean
  disabledAt: number | null
  createdAt: number
  updatedAt: number
}

/** A refresh token, kept inside its session's document. */
interface TokenDoc {
  jti: string
  tokenHash: string
  parentJti: string | null
  issuedAt: number
  expiresAt: number
  usedAt: number | null
}

/** A session and its refresh tokens: one document, so that a rotation is one atomic update. */
interface SessionDoc {
  _id: string
  userId: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  idleExpiresAt: number
  userAgent: string | null
  ip: string | null
  revokedAt: number | null
  revokedReason: RevokeReason | null
  /** When the session dies (the earlier of its absolute and idle expiry), for the TTL index. */
  deadAt: Date
  refreshTokens: TokenDoc[]
}

/**
 * The current mail token of one user and purpose. Its `_id` is `purpose:userId`, so that a new
 * token replaces the old one in one atomic upsert (a new link supersedes the old).
 */
interface EmailTokenDoc {
  _id: string
  tokenHash: string
  userId: string
  purpose: EmailTokenPurpose
  email: string
  createdAt: number
  expiresAt: number
  usedAt: number | null
  /** `expiresAt` as a Date, for the TTL index. */
  expireAt: Date
}

interface KeyDoc {
  _id: string
  alg: string
  publicJwk: string
  privateJwk: string
  createdAt: number
  rotatedAt: number | null
  retiredAt: number | null
}

type ErrorKind = 'unique_username' | 'unique_email' | 'unique_other' | 'unavailable' | null

/* Driver error classes that mean the servers cannot be reached (or were closed under us). */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoWaitQueueTimeoutError',
])

/*
 * Server codes of the same meaning: HostUnreachable 6, HostNotFound 7, NetworkTimeout 89,
 * ShutdownInProgress 91, PrimarySteppedDown 189, SocketException 9001, NotWritablePrimary 10107,
 * InterruptedAtShutdown 11600, InterruptedDueToReplStateChange 11602, NotPrimaryNoSecondaryOk 13435,
 * NotPrimaryOrSecondary 13436, MaxTimeMSExpired 50, ExceededTimeLimit 262.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])

/** Duplicate-key codes (11000; 11001 and 12582 from old servers). */
const DUPLICATE_CODES = new Set([11000, 11001, 12582])

const USERNAME_INDEX = 'tp_users_username'
const EMAIL_INDEX = 'tp_users_email'

/** What a driver error means to the domain. */
function classifyMongoError(error: unknown): ErrorKind {
  if (typeof error !== 'object' || error === null) return null
  const e = error as {
    name?: unknown
    code?: unknown
    message?: unknown
    keyPattern?: unknown
    errorLabels?: unknown
  }
  if (typeof e.code === 'number' && DUPLICATE_CODES.has(e.code)) {
    // Which index, by its key pattern or its name; never by the message's `dup key` part, which
    // holds the value (an address such as "username@example.com").
    const fields =
      typeof e.keyPattern === 'object' && e.keyPattern !== null ? Object.keys(e.keyPattern).join(' ') : ''
    const index = typeof e.message === 'string' ? (/index: (\S+)/.exec(e.message)?.[1] ?? '') : ''
    if (fields === 'usernameKey' || index === USERNAME_INDEX) return 'unique_username'
    if (fields === 'emailKey' || index === EMAIL_INDEX) return 'unique_email'
    return 'unique_other'
  }
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return 'unavailable'
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return 'unavailable'
  // The driver labels transient failures (a stepped-down primary, a dropped socket) this way.
  if (Array.isArray(e.errorLabels) && e.errorLabels.includes('RetryableWriteError')) return 'unavailable'
  return null
}

function userFromDoc(doc: UserDoc): UserRecord {
  return {
    id: doc._id,
    username: doc.username,
    email: doc.email,
    fullname: doc.fullname,
    passwordHash: doc.passwordHash,
    roles: [...doc.roles],
    emailVerified: doc.emailVerified,
    disabledAt: doc.disabledAt ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  }
}

function sessionFromDoc(doc: Omit<SessionDoc, 'refreshTokens'>): SessionRecord {
  return {
    id: doc._id,
    userId: doc.userId,
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt,
    expiresAt: doc.expiresAt,
    idleExpiresAt: doc.idleExpiresAt,
    userAgent: doc.userAgent ?? null,
    ip: doc.ip ?? null,
    revokedAt: doc.revokedAt ?? null,
    revokedReason: doc.revokedReason ?? null,
  }
}

function tokenDoc(token: NewRefreshToken): TokenDoc {
  return {
    jti: token.jti,
    tokenHash: token.tokenHash,
    parentJti: token.parentJti,
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
    usedAt: null,
  }
}

/** Sessions that are neither revoked nor expired at `now`. */
function liveSessionFilter(now: number): Filter<SessionDoc> {
  return { revokedAt: null, expiresAt: { $gt: now }, idleExpiresAt: { $gt: now } }
}

/** Sessions dead at `now` (absolute or idle expiry), revoked or not. */
function deadSessionFilter(now: number): Filter<SessionDoc> {
  return { $or: [{ expiresAt: { $lte: now } }, { idleExpiresAt: { $lte: now } }] }
}

/** Leaves the token array out of what a session update returns. */
const WITHOUT_TOKENS = { refreshTokens: 0 } as const

/** Sweeps work in batches of this many documents, so that memory stays bounded. */
const SWEEP_BATCH = 500

/**
 * The update pipeline of a rotation (or a grace sibling): drops the session's expired tokens,
 * optionally marks the presented one used, appends `next` as its child, and slides the session's
 * idle expiry. Every value from outside goes through `$literal`, so that no string can be read as
 * a field path or an operator.
 */
function appendChildPipeline(
  tokenHash: string,
  next: NewRefreshToken,
  now: number,
  markUsed: { markUsed: boolean },
): Document[] {
  const isPresented = { $eq: ['$$this.tokenHash', { $literal: tokenHash }] }
  const unexpired = { $filter: { input: '$refreshTokens', cond: { $gt: ['$$this.expiresAt', now] } } }
  const kept = markUsed.markUsed
    ? {
        $map: {
          input: unexpired,
          in: {
            $cond: [isPresented, { $mergeObjects: ['$$this', { usedAt: { $literal: now } }] }, '$$this'],
          },
        },
      }
    : unexpired
  // The parent's jti, read from the array as it was before this update.
  const parentJti = {
    $let: {
      vars: { parent: { $arrayElemAt: [{ $filter: { input: '$refreshTokens', cond: isPresented } }, 0] } },
      in: '$$parent.jti',
    },
  }
  const child = { $mergeObjects: [{ $literal: tokenDoc(next) }, { parentJti }] }
  return [
    {
      $set: {
        refreshTokens: { $concatArrays: [kept, [child]] },
        lastUsedAt: { $literal: now },
        idleExpiresAt: { $literal: next.expiresAt },
        deadAt: { $toDate: { $min: ['$expiresAt', { $literal: next.expiresAt }] } },
      },
    },
  ]
}

/**
 * The Storage of MongoDB, on the official driver. Every operation that must be atomic touches one
 * document, so it needs no multi-document transaction and works on a standalone server as on a
 * replica set (docs/mongodb.md says why each one is safe).
 */
export class MongoDBStorage implements Storage {
  readonly capabilities: StorageCapabilities = Object.freeze({ sharedAcrossProcesses: true })
  readonly #client: MongoClient
  readonly #db: Db
  readonly #users: Collection<UserDoc>
  readonly #sessions: Collection<SessionDoc>
  readonly #emailTokens: Collection<EmailTokenDoc>
  readonly #keys: Collection<KeyDoc>
  readonly #retentionSeconds: number

  /** Wraps a connected-on-demand client; {@link createMongoDBStorage} is the usual way in. */
  #closed = false

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
    this.#retentionSeconds = Math.ceil(options.expiredRetentionMs / 1000)
  }

  /** The database, for tests and tools. */
  get db(): Db {
    return this.#db
  }

  /** Runs `work`, turning driver errors into the domain's: duplicates and an unreachable server. */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    // A closed storage says so in the domain's words, whatever its driver would have done.
    if (this.#closed) throw new AuthError('unavailable', 'Storage is closed')
    try {
      return await work()
    } catch (error) {
      if (error instanceof AuthError) throw error
      const kind = classifyMongoError(error)
      if (kind === 'unique_username') throw new AuthError('username_taken', 'Username is already taken')
      if (kind === 'unique_email') throw new AuthError('email_taken', 'Email is already registered')
      if (kind === 'unavailable')
        throw new AuthError('unavailable', 'Database is unavailable', { cause: error })
      throw error
    }
  }

  migrate(): Promise<void> {
    return this.#guard(async () => {
      // createIndex is idempotent for an identical index, so several processes may run this at once.
      await this.#users.createIndex({ usernameKey: 1 }, { name: USERNAME_INDEX, unique: true })
      await this.#users.createIndex({ emailKey: 1 }, { name: EMAIL_INDEX, unique: true })
      await this.#users.createIndex({ createdAt: 1, _id: 1 }, { name: 'tp_users_created' })
      await this.#sessions.createIndex({ userId: 1, createdAt: -1 }, { name: 'tp_sessions_user' })
      await this.#sessions.createIndex({ expiresAt: 1 }, { name: 'tp_sessions_expires' })
      await this.#sessions.createIndex({ idleExpiresAt: 1 }, { name: 'tp_sessions_idle' })
      await this.#sessions.createIndex(
        { 'refreshTokens.expiresAt': 1 },
        { name: 'tp_sessions_token_expires' },
      )
      await this.#ensureTTLIndex(this.#sessions, 'deadAt', 'tp_sessions_ttl')
      await this.#emailTokens.createIndex({ tokenHash: 1 }, { name: 'tp_email_tokens_hash', unique: true })
      await this.#emailTokens.createIndex({ expiresAt: 1 }, { name: 'tp_email_tokens_expires' })
      await this.#ensureTTLIndex(this.#emailTokens, 'expireAt', 'tp_email_tokens_ttl')
      await this.#keys.createIndex({ createdAt: -1, _id: -1 }, { name: 'tp_signing_keys_created' })
    })
  }

  /** Creates a TTL index, or changes its retention when a previous start used another one. */
  async #ensureTTLIndex(
    collection: Collection<SessionDoc> | Collection<EmailTokenDoc>,
    field: string,
    name: string,
  ) {
    try {
      await collection.createIndex({ [field]: 1 }, { name, expireAfterSeconds: this.#retentionSeconds })
    } catch (error) {
      // IndexOptionsConflict (85): same key and name, another expireAfterSeconds.
      if ((error as { code?: unknown }).code !== 85) throw error
      await this.#db.command({
        collMod: collection.collectionName,
        index: { name, expireAfterSeconds: this.#retentionSeconds },
      })
    }
  }

  ping(): Promise<void> {
    return this.#guard(async () => {
      await this.#db.command({ ping: 1 })
    })
  }

  close(): Promise<void> {
    this.#closed = true
    return this.#client.close()
  }

  createUser(user: UserRecord): Promise<void> {
    return this.#guard(async () => {
      await this.#users.insertOne({
        _id: user.id,
        username: user.username,
        usernameKey: user.username.toLowerCase(),
        email: user.email,
        emailKey: user.email.toLowerCase(),
        fullname: user.fullname,
        passwordHash: user.passwordHash,
        roles: [...user.roles],
        emailVerified: user.emailVerified,
        disabledAt: user.disabledAt,
        createdAt: user.createdAt,
        updatedAt: user.updatedAt,
      })
    })
  }

  findUserById(id: string): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const doc = await this.#users.findOne({ _id: id })
      return doc ? userFromDoc(doc) : null
    })
  }

  findUserByLogin(login: string): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const key = login.toLowerCase()
      const doc = await this.#users.findOne({ $or: [{ usernameKey: key }, { emailKey: key }] })
      return doc ? userFromDoc(doc) : null
    })
  }

  updatePasswordHash(userId: string, passwordHash: string, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#users.updateOne({ _id: userId }, { $set: { passwordHash, updatedAt: now } })
      return result.matchedCount > 0
    })
  }

  updateUser(userId: string, update: UserUpdate, now: number): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const set: Partial<UserDoc> = { updatedAt: now }
      if (update.fullname !== undefined) set.fullname = update.fullname
      if (update.email !== undefined) {
        set.email = update.email
        set.emailKey = update.email.toLowerCase()
      }
      if (update.emailVerified !== undefined) set.emailVerified = update.emailVerified
      const doc = await this.#users.findOneAndUpdate(
        { _id: userId },
        { $set: set },
        { returnDocument: 'after' },
      )
      return doc ? userFromDoc(doc) : null
    })
  }

  setUserDisabled(userId: string, disabledAt: number | null, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#users.updateOne({ _id: userId }, { $set: { disabledAt, updatedAt: now } })
      return result.matchedCount > 0
    })
  }

  listUsers(options: { limit: number; offset: number }): Promise<UserRecord[]> {
    return this.#guard(async () => {
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

  createSession(session: SessionRecord, firstToken: NewRefreshToken): Promise<void> {
    return this.#guard(async () => {
      // One document holds the session and its first token: they are stored together or not at all.
      await this.#sessions.insertOne({
        _id: session.id,
        userId: session.userId,
        createdAt: session.createdAt,
        lastUsedAt: session.lastUsedAt,
        expiresAt: session.expiresAt,
        idleExpiresAt: session.idleExpiresAt,
        userAgent: session.userAgent,
        ip: session.ip,
        revokedAt: session.revokedAt,
        revokedReason: session.revokedReason,
        deadAt: new Date(Math.min(session.expiresAt, session.idleExpiresAt)),
        refreshTokens: [tokenDoc(firstToken)],
      })
    })
  }

  findSession(id: string): Promise<SessionRecord | null> {
    return this.#guard(async () => {
      const doc = await this.#sessions.findOne({ _id: id }, { projection: WITHOUT_TOKENS })
      return doc ? sessionFromDoc(doc) : null
    })
  }

  listActiveSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#guard(async () => {
      const docs = await this.#sessions
        .find({ userId, ...liveSessionFilter(now) }, { projection: WITHOUT_TOKENS })
        .sort({ createdAt: -1, _id: -1 })
        .toArray()
      return docs.map(sessionFromDoc)
    })
  }

  revokeSession(sessionId: string, userId: string, reason: RevokeReason, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#sessions.updateOne(
        { _id: sessionId, userId, ...liveSessionFilter(now) },
        { $set: { revokedAt: now, revokedReason: reason } },
      )
      return result.modifiedCount > 0
    })
  }

  revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    options?: { exceptSessionId?: string },
  ): Promise<number> {
    return this.#guard(async () => {
      const filter: Filter<SessionDoc> = { userId, ...liveSessionFilter(now) }
      if (options?.exceptSessionId !== undefined) filter._id = { $ne: options.exceptSessionId }
      const result = await this.#sessions.updateMany(filter, {
        $set: { revokedAt: now, revokedReason: reason },
      })
      return result.modifiedCount
    })
  }

  /*
   * Up to three conditional updates of the session's one document, each atomic on its own. A
   * token's `usedAt` only ever goes from null to a time, and a session only from live to revoked,
   * so trying them in this order yields what one transaction would: exactly one caller matches
   * "unused" (the server applies single-document updates one at a time), the others then match
   * "used within grace" or "used before grace", or nothing once the session is revoked.
   */
  consumeRefreshToken(input: ConsumeRefreshTokenInput): Promise<ConsumeResult> {
    return this.#guard(async () => {
      const { tokenHash, sessionId, now, graceMs, next } = input
      const live = { _id: sessionId, ...liveSessionFilter(now) }
      const unexpired = { $gt: now }

      const rotated = await this.#sessions.findOneAndUpdate(
        { ...live, refreshTokens: { $elemMatch: { tokenHash, usedAt: null, expiresAt: unexpired } } },
        appendChildPipeline(tokenHash, next, now, { markUsed: true }),
        { returnDocument: 'after', projection: WITHOUT_TOKENS },
      )
      if (rotated) return { status: 'rotated', session: sessionFromDoc(rotated) }

      if (graceMs > 0) {
        const sibling = await this.#sessions.findOneAndUpdate(
          {
            ...live,
            refreshTokens: {
              $elemMatch: { tokenHash, usedAt: { $gte: now - graceMs }, expiresAt: unexpired },
            },
          },
          appendChildPipeline(tokenHash, next, now, { markUsed: false }),
          { returnDocument: 'after', projection: WITHOUT_TOKENS },
        )
        if (sibling) return { status: 'grace', session: sessionFromDoc(sibling) }
      }

      const usedBeforeGrace = graceMs > 0 ? { $lt: now - graceMs } : { $ne: null }
      const revoked = await this.#sessions.findOneAndUpdate(
        {
          ...live,
          refreshTokens: { $elemMatch: { tokenHash, usedAt: usedBeforeGrace, expiresAt: unexpired } },
        },
        { $set: { revokedAt: now, revokedReason: 'reuse_detected' } },
        { returnDocument: 'after', projection: WITHOUT_TOKENS },
      )
      if (revoked) return { status: 'reused', session: sessionFromDoc(revoked) }
      return { status: 'invalid' }
    })
  }

  createEmailToken(token: EmailTokenRecord): Promise<void> {
    return this.#guard(async () => {
      // One document per user and purpose: the replace is the supersede, atomic by itself.
      await this.#emailTokens.replaceOne(
        { _id: `${token.purpose}:${token.userId}` },
        {
          tokenHash: token.tokenHash,
          userId: token.userId,
          purpose: token.purpose,
          email: token.email,
          createdAt: token.createdAt,
          expiresAt: token.expiresAt,
          usedAt: null,
          expireAt: new Date(token.expiresAt),
        },
        { upsert: true },
      )
    })
  }

  consumeEmailToken(
    tokenHash: string,
    purpose: EmailTokenPurpose,
    now: number,
  ): Promise<EmailTokenRecord | null> {
    return this.#guard(async () => {
      // The conditional update is the compare-and-set: only one caller can flip usedAt.
      const doc = await this.#emailTokens.findOneAndUpdate(
        { tokenHash, purpose, usedAt: null, expiresAt: { $gt: now } },
        { $set: { usedAt: now } },
        { returnDocument: 'before' },
      )
      if (!doc) return null
      return {
        tokenHash: doc.tokenHash,
        userId: doc.userId,
        purpose: doc.purpose,
        email: doc.email,
        createdAt: doc.createdAt,
        expiresAt: doc.expiresAt,
      }
    })
  }

  listKeys(): Promise<KeyRecord[]> {
    return this.#guard(async () => {
      const docs = await this.#keys.find({}).sort({ createdAt: -1, _id: -1 }).toArray()
      return docs.map((doc) => ({
        kid: doc._id,
        alg: doc.alg,
        publicJwk: doc.publicJwk,
        privateJwk: doc.privateJwk,
        createdAt: doc.createdAt,
        rotatedAt: doc.rotatedAt ?? null,
        retiredAt: doc.retiredAt ?? null,
      }))
    })
  }

  insertKey(key: KeyRecord): Promise<void> {
    return this.#guard(async () => {
      // Insert first, then rotate the others: a crash in between leaves two current keys of one
      // algorithm (the next insert settles it), never none.
      await this.#keys.insertOne({
        _id: key.kid,
        alg: key.alg,
        publicJwk: key.publicJwk,
        privateJwk: key.privateJwk,
        createdAt: key.createdAt,
        rotatedAt: key.rotatedAt,
        retiredAt: key.retiredAt,
      })
      await this.#keys.updateMany(
        { alg: key.alg, rotatedAt: null, _id: { $ne: key.kid } },
        { $set: { rotatedAt: key.createdAt } },
      )
    })
  }

  retireKey(kid: string, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#keys.updateOne({ _id: kid, retiredAt: null }, { $set: { retiredAt: now } })
      return result.modifiedCount > 0
    })
  }

  deleteExpired(now: number): Promise<SweepResult> {
    return this.#guard(async () => {
      const result: SweepResult = { sessions: 0, refreshTokens: 0, emailTokens: 0 }
      const dead = deadSessionFilter(now)
      // Dead sessions, with the tokens inside them. A dead session never comes back to life, so
      // the count read before the delete is the count deleted.
      for (;;) {
        const batch = await this.#sessions
          .aggregate<{ _id: string; tokens: number }>([
            { $match: dead },
            { $limit: SWEEP_BATCH },
            { $project: { tokens: { $size: { $ifNull: ['$refreshTokens', []] } } } },
          ])
          .toArray()
        if (batch.length === 0) break
        const deleted = await this.#sessions.deleteMany({ _id: { $in: batch.map((d) => d._id) }, ...dead })
        result.sessions += deleted.deletedCount
        result.refreshTokens += batch.reduce((sum, d) => sum + d.tokens, 0)
        if (batch.length < SWEEP_BATCH) break
      }
      // Expired tokens of live sessions.
      for (;;) {
        const batch = await this.#sessions
          .aggregate<{ _id: string; tokens: number }>([
            { $match: { 'refreshTokens.expiresAt': { $lte: now } } },
            { $limit: SWEEP_BATCH },
            {
              $project: {
                tokens: {
                  $size: { $filter: { input: '$refreshTokens', cond: { $lte: ['$$this.expiresAt', now] } } },
                },
              },
            },
          ])
          .toArray()
        if (batch.length === 0) break
        await this.#sessions.updateMany(
          { _id: { $in: batch.map((d) => d._id) } },
          { $pull: { refreshTokens: { expiresAt: { $lte: now } } } },
        )
        result.refreshTokens += batch.reduce((sum, d) => sum + d.tokens, 0)
        if (batch.length < SWEEP_BATCH) break
      }
      const mail = await this.#emailTokens.deleteMany({ expiresAt: { $lte: now } })
      result.emailTokens = mail.deletedCount
      return result
    })
  }
}

/** The database named in a MongoDB URL's path, or `null`. */
function readDatabaseName(url: string): string | null {
  const name = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/i.exec(url)?.[1]
  return name ? decodeURIComponent(name) : null
}

async function loadDriver(): Promise<typeof import('mongodb')> {
  try {
    return await import('mongodb')
  } catch (error) {
    throw new AuthError('unavailable', 'MongoDB needs the mongodb package: npm install mongodb', {
      cause: error,
    })
  }
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
  const { MongoClient } = await loadDriver()
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
