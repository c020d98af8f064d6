import { type Kysely, type Selectable, sql, type Transaction } from 'kysely'
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
import { isSessionLive } from '../storage.js'
import { migrateToLatest } from './migrations.js'
import { type Database, type SessionsTable, toNullableNumber, toNumber, type UsersTable } from './schema.js'
import type { SQLTraits } from './sql-traits.js'

/** Options of {@link SQLStorage}. */
export interface SQLStorageOptions {
  /** The Kysely instance; the storage owns it and destroys it on `close()`. */
  db: Kysely<Database>
  traits: SQLTraits
  capabilities?: Partial<StorageCapabilities>
  /** Releases the connections. Default: `db.destroy()`. */
  close?: () => Promise<void>
}

/** How many times a transaction that lost a deadlock is run in all. */
const TRANSACTION_ATTEMPTS = 3

function userFromRow(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    fullname: row.fullname,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    emailVerified: toNumber(row.email_verified) === 1,
    disabledAt: toNullableNumber(row.disabled_at),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  }
}

function sessionFromRow(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNumber(row.last_used_at),
    expiresAt: toNumber(row.expires_at),
    idleExpiresAt: toNumber(row.idle_expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
    revokedAt: toNullableNumber(row.revoked_at),
    revokedReason: row.revoked_reason as RevokeReason | null,
  }
}

function tokenRow(token: NewRefreshToken) {
  return {
    jti: token.jti,
    token_hash: token.tokenHash,
    session_id: token.sessionId,
    parent_jti: token.parentJti,
    issued_at: token.issuedAt,
    expires_at: token.expiresAt,
    used_at: null,
  }
}

/**
 * The Storage of every SQL database, on Kysely. The database's own differences come in through
 * {@link SQLTraits}; the SQL below is written once.
 */
export class SQLStorage implements Storage {
  readonly capabilities: StorageCapabilities
  readonly #db: Kysely<Database>
  readonly #traits: SQLTraits
  readonly #close: () => Promise<void>

  #closed = false

  constructor(options: SQLStorageOptions) {
    this.#db = options.db
    this.#traits = options.traits
    this.#close = options.close ?? (() => options.db.destroy())
    this.capabilities = Object.freeze({ sharedAcrossProcesses: true, ...options.capabilities })
  }

  /** The Kysely instance, for adapters' own extensions and tests. */
  get db(): Kysely<Database> {
    return this.#db
  }

  /** Runs `work`, turning driver errors into the domain's: duplicates and an unreachable database. */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    // A closed storage says so in the domain's words, whatever its driver would have done.
    if (this.#closed) throw new AuthError('unavailable', 'Storage is closed')
    try {
      return await work()
    } catch (error) {
      if (error instanceof AuthError) throw error
      const kind = this.#traits.classifyError(error)
      if (kind === 'unique_username') throw new AuthError('username_taken', 'Username is already taken')
      if (kind === 'unique_email') throw new AuthError('email_taken', 'Email is already registered')
      // A deadlock that persists through every attempt is an overload, not a bug.
      if (kind === 'unavailable' || kind === 'retry')
        throw new AuthError('unavailable', 'Database is unavailable', { cause: error })
      throw error
    }
  }

  /**
   * Runs `work` in a transaction, and again (at most {@link TRANSACTION_ATTEMPTS} times in all)
   * when the database rolled it back as a deadlock victim: InnoDB picks one when two transactions
   * wait on each other's gap or row locks (two mail-token requests of one user, say). The rollback
   * undid everything, so the next attempt starts clean.
   */
  async #transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#db.transaction().execute(work)
      } catch (error) {
        if (attempt >= TRANSACTION_ATTEMPTS || this.#traits.classifyError(error) !== 'retry') throw error
        // A short random pause, so that the transactions that collided do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
      }
    }
  }

  migrate(): Promise<void> {
    return this.#guard(() => migrateToLatest(this.#db, this.#traits))
  }

  ping(): Promise<void> {
    return this.#guard(async () => {
      await sql`select 1`.execute(this.#db)
    })
  }

  close(): Promise<void> {
    this.#closed = true
    return this.#close()
  }

  createUser(user: UserRecord): Promise<void> {
    return this.#guard(async () => {
      await this.#db
        .insertInto('tp_users')
        .values({
          id: user.id,
          username: user.username,
          email: user.email,
          fullname: user.fullname,
          password_hash: user.passwordHash,
          roles: JSON.stringify(user.roles),
          email_verified: user.emailVerified ? 1 : 0,
          disabled_at: user.disabledAt,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .execute()
    })
  }

  findUserById(id: string): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('tp_users').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? userFromRow(row) : null
    })
  }

  findUserByLogin(login: string): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const row = await this.#db
        .selectFrom('tp_users')
        .selectAll()
        .where((eb) => eb.or([eb('username', '=', login), eb('email', '=', login)]))
        .executeTakeFirst()
      return row ? userFromRow(row) : null
    })
  }

  updatePasswordHash(userId: string, passwordHash: string, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#db
        .updateTable('tp_users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', userId)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  updateUser(userId: string, update: UserUpdate, now: number): Promise<UserRecord | null> {
    return this.#guard(async () => {
      const set: { updated_at: number; fullname?: string; email?: string; email_verified?: number } = {
        updated_at: now,
      }
      if (update.fullname !== undefined) set.fullname = update.fullname
      if (update.email !== undefined) set.email = update.email
      if (update.emailVerified !== undefined) set.email_verified = update.emailVerified ? 1 : 0
      await this.#db.updateTable('tp_users').set(set).where('id', '=', userId).execute()
      const row = await this.#db
        .selectFrom('tp_users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirst()
      return row ? userFromRow(row) : null
    })
  }

  setUserDisabled(userId: string, disabledAt: number | null, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#db
        .updateTable('tp_users')
        .set({ disabled_at: disabledAt, updated_at: now })
        .where('id', '=', userId)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  listUsers(options: { limit: number; offset: number }): Promise<UserRecord[]> {
    return this.#guard(async () => {
      const rows = await this.#db
        .selectFrom('tp_users')
        .selectAll()
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .limit(options.limit)
        .offset(options.offset)
        .execute()
      return rows.map(userFromRow)
    })
  }

  createSession(session: SessionRecord, firstToken: NewRefreshToken): Promise<void> {
    return this.#guard(() =>
      this.#transaction(async (trx) => {
        await trx
          .insertInto('tp_sessions')
          .values({
            id: session.id,
            user_id: session.userId,
            created_at: session.createdAt,
            last_used_at: session.lastUsedAt,
            expires_at: session.expiresAt,
            idle_expires_at: session.idleExpiresAt,
            user_agent: session.userAgent,
            ip: session.ip,
            revoked_at: session.revokedAt,
            revoked_reason: session.revokedReason,
          })
          .execute()
        await trx.insertInto('tp_refresh_tokens').values(tokenRow(firstToken)).execute()
      }),
    )
  }

  findSession(id: string): Promise<SessionRecord | null> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('tp_sessions').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? sessionFromRow(row) : null
    })
  }

  listActiveSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return this.#guard(async () => {
      const rows = await this.#db
        .selectFrom('tp_sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('idle_expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
      return rows.map(sessionFromRow)
    })
  }

  revokeSession(sessionId: string, userId: string, reason: RevokeReason, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#db
        .updateTable('tp_sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('id', '=', sessionId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('idle_expires_at', '>', now)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  revokeUserSessions(
    userId: string,
    reason: RevokeReason,
    now: number,
    options?: { exceptSessionId?: string },
  ): Promise<number> {
    return this.#guard(async () => {
      let query = this.#db
        .updateTable('tp_sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('idle_expires_at', '>', now)
      if (options?.exceptSessionId !== undefined) query = query.where('id', '!=', options.exceptSessionId)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows)
    })
  }

  consumeRefreshToken(input: ConsumeRefreshTokenInput): Promise<ConsumeResult> {
    return this.#guard(() => this.#transaction((trx) => this.#consume(trx, input)))
  }

  /*
   * The compare-and-set is the UPDATE's WHERE: `used_at IS NULL` on a live session. Its first
   * statement is a write, which matters on SQLite: a transaction that reads first and writes later
   * cannot wait for another process's lock (it fails with SQLITE_BUSY), one that writes first waits
   * under busy_timeout. On PostgreSQL and MySQL the row lock makes a concurrent UPDATE wait for the
   * winner's commit and then re-check the WHERE, so it matches nothing. MySQL first locks the
   * session row (`lockOwnerRowFirst`), see the trait for the deadlock it avoids.
   */
  async #consume(trx: Transaction<Database>, input: ConsumeRefreshTokenInput): Promise<ConsumeResult> {
    const { tokenHash, sessionId, now, graceMs, next } = input
    if (this.#traits.lockOwnerRowFirst) {
      await trx.selectFrom('tp_sessions').select('id').where('id', '=', sessionId).forUpdate().execute()
    }
    const liveSession = trx
      .selectFrom('tp_sessions')
      .select('id')
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('idle_expires_at', '>', now)
    const won = await trx
      .updateTable('tp_refresh_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('session_id', '=', sessionId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .where((eb) => eb.exists(liveSession))
      .executeTakeFirst()

    // The winner knows its parent from the caller (the token's own jti): no read needed.
    if (won.numUpdatedRows > 0n && next.parentJti !== null) {
      return { status: 'rotated', session: await this.#issueChild(trx, next.parentJti, next, now) }
    }
    let tokenQuery = trx
      .selectFrom('tp_refresh_tokens')
      .select(['jti', 'used_at', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('session_id', '=', sessionId)
    if (this.#traits.supportsForUpdate) tokenQuery = tokenQuery.forUpdate()
    const token = await tokenQuery.executeTakeFirst()
    if (!token) return { status: 'invalid' }

    if (won.numUpdatedRows > 0n) {
      const session = await this.#issueChild(trx, token.jti, next, now)
      return { status: 'rotated', session }
    }

    let sessionQuery = trx.selectFrom('tp_sessions').selectAll().where('id', '=', sessionId)
    if (this.#traits.supportsForUpdate) sessionQuery = sessionQuery.forUpdate()
    const sessionRow = await sessionQuery.executeTakeFirst()
    if (!sessionRow) return { status: 'invalid' }
    const session = sessionFromRow(sessionRow)
    const usedAt = toNullableNumber(token.used_at)
    if (!isSessionLive(session, now) || usedAt === null || toNumber(token.expires_at) <= now)
      return { status: 'invalid' }

    if (graceMs > 0 && now - usedAt <= graceMs) {
      return { status: 'grace', session: await this.#issueChild(trx, token.jti, next, now) }
    }
    await trx
      .updateTable('tp_sessions')
      .set({ revoked_at: now, revoked_reason: 'reuse_detected' })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute()
    return { status: 'reused', session: { ...session, revokedAt: now, revokedReason: 'reuse_detected' } }
  }

  async #issueChild(
    trx: Transaction<Database>,
    parentJti: string,
    next: NewRefreshToken,
    now: number,
  ): Promise<SessionRecord> {
    await trx
      .insertInto('tp_refresh_tokens')
      .values(tokenRow({ ...next, parentJti }))
      .execute()
    const touch = trx
      .updateTable('tp_sessions')
      .set({ last_used_at: now, idle_expires_at: next.expiresAt })
      .where('id', '=', next.sessionId)
    if (this.#traits.supportsUpdateReturning) {
      return sessionFromRow(await touch.returningAll().executeTakeFirstOrThrow())
    }
    await touch.execute()
    const row = await trx
      .selectFrom('tp_sessions')
      .selectAll()
      .where('id', '=', next.sessionId)
      .executeTakeFirstOrThrow()
    return sessionFromRow(row)
  }

  createEmailToken(token: EmailTokenRecord): Promise<void> {
    return this.#guard(() =>
      this.#transaction(async (trx) => {
        if (this.#traits.lockOwnerRowFirst) {
          await trx.selectFrom('tp_users').select('id').where('id', '=', token.userId).forUpdate().execute()
        }
        await trx
          .deleteFrom('tp_email_tokens')
          .where('user_id', '=', token.userId)
          .where('purpose', '=', token.purpose)
          .where('used_at', 'is', null)
          .execute()
        await trx
          .insertInto('tp_email_tokens')
          .values({
            token_hash: token.tokenHash,
            user_id: token.userId,
            purpose: token.purpose,
            email: token.email,
            created_at: token.createdAt,
            expires_at: token.expiresAt,
            used_at: null,
          })
          .execute()
      }),
    )
  }

  consumeEmailToken(
    tokenHash: string,
    purpose: EmailTokenPurpose,
    now: number,
  ): Promise<EmailTokenRecord | null> {
    return this.#guard(() =>
      this.#transaction(async (trx) => {
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
        return {
          tokenHash: row.token_hash,
          userId: row.user_id,
          purpose: row.purpose as EmailTokenPurpose,
          email: row.email,
          createdAt: toNumber(row.created_at),
          expiresAt: toNumber(row.expires_at),
        }
      }),
    )
  }

  listKeys(): Promise<KeyRecord[]> {
    return this.#guard(async () => {
      const rows = await this.#db
        .selectFrom('tp_signing_keys')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute()
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        publicJwk: row.public_jwk,
        privateJwk: row.private_jwk,
        createdAt: toNumber(row.created_at),
        rotatedAt: toNullableNumber(row.rotated_at),
        retiredAt: toNullableNumber(row.retired_at),
      }))
    })
  }

  insertKey(key: KeyRecord): Promise<void> {
    return this.#guard(() =>
      this.#transaction(async (trx) => {
        await trx
          .updateTable('tp_signing_keys')
          .set({ rotated_at: key.createdAt })
          .where('alg', '=', key.alg)
          .where('rotated_at', 'is', null)
          .execute()
        await trx
          .insertInto('tp_signing_keys')
          .values({
            kid: key.kid,
            alg: key.alg,
            public_jwk: key.publicJwk,
            private_jwk: key.privateJwk,
            created_at: key.createdAt,
            rotated_at: key.rotatedAt,
            retired_at: key.retiredAt,
          })
          .execute()
      }),
    )
  }

  retireKey(kid: string, now: number): Promise<boolean> {
    return this.#guard(async () => {
      const result = await this.#db
        .updateTable('tp_signing_keys')
        .set({ retired_at: now })
        .where('kid', '=', kid)
        .where('retired_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  deleteExpired(now: number): Promise<SweepResult> {
    return this.#guard(() =>
      this.#transaction(async (trx) => {
        const dead = trx
          .selectFrom('tp_sessions')
          .select('id')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)]))
        const tokens = await trx
          .deleteFrom('tp_refresh_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('session_id', 'in', dead)]))
          .executeTakeFirst()
        const sessions = await trx
          .deleteFrom('tp_sessions')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)]))
          .executeTakeFirst()
        const mail = await trx.deleteFrom('tp_email_tokens').where('expires_at', '<=', now).executeTakeFirst()
        return {
          sessions: Number(sessions.numDeletedRows),
          refreshTokens: Number(tokens.numDeletedRows),
          emailTokens: Number(mail.numDeletedRows),
        }
      }),
    )
  }
}
