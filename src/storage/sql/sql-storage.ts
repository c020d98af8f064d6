import { type Kysely, sql, type Transaction, type Updateable } from 'kysely'
import type * as model from '../storage.js'
import { StorageGuard } from '../storage-guard.js'
import { checkTablePrefix, DEFAULT_TABLE_PREFIX } from '../table-prefix.js'
import { migrateToLatest } from './migrations.js'
import { type Database, toNumber, type UsersTable } from './schema.js'
import * as mailTokens from './sql-email-tokens.js'
import { SQLFactorStorage } from './sql-factors.js'
import {
  type IdentityInsertStep,
  insertIdentityUnlessTaken,
  removeIdentity,
  selectIdentities,
  selectIdentity,
} from './sql-identities.js'
import * as signingKeys from './sql-keys.js'
import { consumeRefreshTokenInTransaction } from './sql-rotation.js'
import { type CommonCaseRotation, commonCaseRotation } from './sql-rotation-unit.js'
import {
  matchDeadSession,
  matchLiveSession,
  SESSION_COLUMNS_AS,
  sessionFromJoinedRow,
  sessionFromRow,
  sessionRow,
  tokenRow,
  userFromRow,
  userRow,
  userUpdateRow,
} from './sql-rows.js'
import type { SQLTraits } from './sql-traits.js'
import type { UnitRunner } from './sql-unit-runner.js'
import { withTablePrefix } from './table-prefix-plugin.js'

/** Options of {@link SQLStorage}. */
export interface SQLStorageOptions {
  /** The Kysely instance; the storage owns it and destroys it on `close()` (unless `close` says otherwise). */
  db: Kysely<Database>
  traits: SQLTraits
  /** The prefix of its tables, indexes and constraints (checked: `checkTablePrefix`). Default `tp_`. */
  tablePrefix?: string
  capabilities?: Partial<model.StorageCapabilities>
  /** Releases the connections. Default: `db.destroy()`. */
  close?: () => Promise<void>
  /** Runs a unit of known statements in one step, where the driver can (SQLite's group commit). */
  runUnit?: UnitRunner
}

/** How many times a transaction that lost a deadlock is run in all. */
const TRANSACTION_ATTEMPTS = 3

/**
 * The Storage of every SQL database, on Kysely. The database's own differences come in through
 * {@link SQLTraits}; the SQL is written once, here and in the files beside this one: the rows
 * (sql-rows.ts), the rotation (sql-rotation.ts), the mail tokens (sql-email-tokens.ts) and the
 * second factor (sql-factors.ts, as `factors`).
 */
export class SQLStorage implements model.Storage {
  readonly capabilities: model.StorageCapabilities
  readonly factors: model.FactorStorage
  readonly #db: Kysely<Database>
  readonly #traits: SQLTraits
  readonly #migrate: () => Promise<void>
  readonly #close: () => Promise<void>
  readonly #guard: StorageGuard
  readonly #rotateCommonCase: CommonCaseRotation | null

  constructor(options: SQLStorageOptions) {
    const prefix = checkTablePrefix(options.tablePrefix ?? DEFAULT_TABLE_PREFIX, 'tablePrefix')
    this.#db = withTablePrefix(options.db, prefix)
    this.#migrate = () => migrateToLatest(options.db, options.traits, prefix)
    // Compiled through the prefixed handle, so that the statements name the app's tables.
    this.#rotateCommonCase = commonCaseRotation(this.#db, options.traits, options.runUnit)
    this.#traits = options.traits
    this.#close = options.close ?? (() => options.db.destroy())
    this.#guard = new StorageGuard((error) => options.traits.classifyError(error))
    this.capabilities = Object.freeze({ sharedAcrossProcesses: true, ...options.capabilities })
    this.factors = new SQLFactorStorage({
      db: this.#db,
      traits: options.traits,
      run: (work) => this.#guard.run(work),
      transaction: (work) => this.#runTransaction(work),
    })
  }

  /** The Kysely instance, its tables under the storage's prefix, for adapters' own extensions and tests. */
  get db(): Kysely<Database> {
    return this.#db
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

  /** Runs `work` in a transaction inside the guard: how every operation of several statements runs. */
  #runTransaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#guard.run(() => this.#transaction(work))
  }

  migrate(): Promise<void> {
    return this.#guard.run(this.#migrate)
  }

  ping(): Promise<void> {
    return this.#guard.run(async () => {
      await sql`select 1`.execute(this.#db)
    })
  }

  close(): Promise<void> {
    this.#guard.close()
    return this.#close()
  }

  createUser(user: model.UserRecord): Promise<void> {
    return this.#guard.run(async () => {
      await this.#db.insertInto('tp_users').values(userRow(user)).execute()
    })
  }

  findUserById(id: string): Promise<model.UserRecord | null> {
    return this.#guard.run(() => this.#selectUser(id))
  }

  async #selectUser(id: string): Promise<model.UserRecord | null> {
    const row = await this.#db.selectFrom('tp_users').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? userFromRow(row) : null
  }

  findUserByLogin(login: string): Promise<model.UserRecord | null> {
    return this.#guard.run(async () => {
      const row = await this.#db
        .selectFrom('tp_users')
        .selectAll()
        .where((eb) => eb.or([eb('username', '=', login), eb('email', '=', login)]))
        .executeTakeFirst()
      return row ? userFromRow(row) : null
    })
  }

  /** Sets columns of one user; returns whether the user exists. */
  async #setUserColumns(userId: string, set: Updateable<UsersTable>): Promise<boolean> {
    const result = await this.#db.updateTable('tp_users').set(set).where('id', '=', userId).executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  updatePasswordHash(userId: string, passwordHash: string, now: number): Promise<boolean> {
    return this.#guard.run(() =>
      this.#setUserColumns(userId, { password_hash: passwordHash, updated_at: now }),
    )
  }

  updateUser(userId: string, update: model.UserUpdate, now: number): Promise<model.UserRecord | null> {
    return this.#guard.run(async () => {
      await this.#setUserColumns(userId, userUpdateRow(update, now))
      return this.#selectUser(userId)
    })
  }

  setUserDisabled(userId: string, disabledAt: number | null, now: number): Promise<boolean> {
    return this.#guard.run(() => this.#setUserColumns(userId, { disabled_at: disabledAt, updated_at: now }))
  }

  listUsers(options: { limit: number; offset: number }): Promise<model.UserRecord[]> {
    return this.#guard.run(async () => {
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

  createSession(session: model.SessionRecord, firstToken: model.NewRefreshToken): Promise<void> {
    return this.#runTransaction(async (trx) => {
      await trx.insertInto('tp_sessions').values(sessionRow(session)).execute()
      await trx.insertInto('tp_refresh_tokens').values(tokenRow(firstToken)).execute()
    })
  }

  findSession(id: string): Promise<model.SessionRecord | null> {
    return this.#guard.run(async () => {
      const row = await this.#db.selectFrom('tp_sessions').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? sessionFromRow(row) : null
    })
  }

  findSessionWithUser(id: string): Promise<{ session: model.SessionRecord; user: model.UserRecord } | null> {
    return this.#guard.run(async () => {
      const row = await this.#db
        .selectFrom('tp_sessions as s')
        .innerJoin('tp_users as u', 'u.id', 's.user_id')
        .selectAll('u')
        .select(SESSION_COLUMNS_AS)
        .where('s.id', '=', id)
        .executeTakeFirst()
      return row ? { session: sessionFromJoinedRow(row), user: userFromRow(row) } : null
    })
  }

  listActiveSessions(userId: string, now: number): Promise<model.SessionRecord[]> {
    return this.#guard.run(async () => {
      const rows = await this.#db
        .selectFrom('tp_sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where(matchLiveSession(now))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
      return rows.map(sessionFromRow)
    })
  }

  revokeSession(id: string, userId: string, reason: model.RevokeReason, now: number): Promise<boolean> {
    return this.#guard.run(async () => {
      const result = await this.#db
        .updateTable('tp_sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where(matchLiveSession(now))
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  revokeUserSessions(
    userId: string,
    reason: model.RevokeReason,
    now: number,
    options?: { exceptSessionId?: string },
  ): Promise<number> {
    return this.#guard.run(async () => {
      let query = this.#db
        .updateTable('tp_sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('user_id', '=', userId)
        .where(matchLiveSession(now))
      if (options?.exceptSessionId !== undefined) query = query.where('id', '!=', options.exceptSessionId)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows)
    })
  }

  listRevokedSessions(since: number, limit: number): Promise<model.RevokedSession[]> {
    return this.#guard.run(async () => {
      if (limit <= 0) return []
      const rows = await this.#db
        .selectFrom('tp_sessions')
        .select(['id', 'user_id', 'revoked_at'])
        .where('revoked_at', '>=', since)
        .orderBy('revoked_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
      return rows.map((row) => ({ sid: row.id, userId: row.user_id, revokedAt: toNumber(row.revoked_at) }))
    })
  }

  consumeRefreshToken(input: model.ConsumeRefreshTokenInput): Promise<model.ConsumeResult> {
    const { parentJti } = input.next
    const rotateCommonCase = this.#rotateCommonCase
    if (rotateCommonCase && parentJti !== null) {
      return this.#guard.run(async () => {
        // The common case in one round trip; anything else (grace, reuse, invalid) in the transaction.
        const session = await rotateCommonCase({ ...input, next: { ...input.next, parentJti } })
        if (session !== null) return { status: 'rotated', session }
        return this.#transaction((trx) => consumeRefreshTokenInTransaction(trx, this.#traits, input))
      })
    }
    return this.#runTransaction((trx) => consumeRefreshTokenInTransaction(trx, this.#traits, input))
  }

  createEmailToken(token: model.EmailTokenRecord): Promise<void> {
    return this.#runTransaction((trx) => mailTokens.replaceEmailTokenInTransaction(trx, this.#traits, token))
  }

  deleteUnusedEmailTokens(userId: string, purpose: model.EmailTokenPurpose): Promise<number> {
    return this.#guard.run(async () => {
      const result = await this.#db
        .deleteFrom('tp_email_tokens')
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    })
  }

  findEmailToken(tokenHash: string, purpose: model.EmailTokenPurpose, now: number) {
    return this.#guard.run(() => mailTokens.selectPendingEmailToken(this.#db, tokenHash, purpose, now))
  }

  consumeEmailToken(
    tokenHash: string,
    purpose: model.EmailTokenPurpose,
    now: number,
  ): Promise<model.EmailTokenRecord | null> {
    return this.#runTransaction((trx) =>
      mailTokens.consumeEmailTokenInTransaction(trx, tokenHash, purpose, now),
    )
  }

  createUserWithIdentity(user: model.UserRecord, identity: model.IdentityRecord): Promise<boolean> {
    return this.#insertIdentity(identity, (trx) => trx.insertInto('tp_users').values(userRow(user)).execute())
  }

  createIdentity(identity: model.IdentityRecord): Promise<boolean> {
    return this.#insertIdentity(identity, async () => {})
  }

  #insertIdentity(identity: model.IdentityRecord, before: IdentityInsertStep): Promise<boolean> {
    const isTaken = (error: unknown) => this.#traits.classifyError(error) === 'unique_other'
    return this.#guard.run(() =>
      insertIdentityUnlessTaken((w) => this.#transaction(w), identity, before, isTaken),
    )
  }

  findIdentity(issuer: string, subject: string): Promise<model.IdentityRecord | null> {
    return this.#guard.run(() => selectIdentity(this.#db, issuer, subject))
  }

  listIdentities(userId: string): Promise<model.IdentityRecord[]> {
    return this.#guard.run(() => selectIdentities(this.#db, userId))
  }

  deleteIdentity(id: string, userId: string): Promise<boolean> {
    return this.#guard.run(() => removeIdentity(this.#db, id, userId))
  }

  listKeys(): Promise<model.KeyRecord[]> {
    return this.#guard.run(() => signingKeys.selectKeys(this.#db))
  }

  insertKey(key: model.KeyRecord): Promise<void> {
    return this.#runTransaction((trx) => signingKeys.insertKeyInTransaction(trx, key))
  }

  retireKey(kid: string, now: number): Promise<boolean> {
    return this.#guard.run(() => signingKeys.retireKey(this.#db, kid, now))
  }

  deleteExpired(now: number, options: model.SweepOptions = {}): Promise<model.SweepResult> {
    return this.#runTransaction(async (trx) => {
      const sealed = await trx
        .updateTable('tp_refresh_tokens')
        .set({ successor_sealed: null })
        .where('successor_sealed', 'is not', null)
        .where('used_at', '<', now - (options.graceMs ?? 0))
        .executeTakeFirst()
      const dead = trx.selectFrom('tp_sessions').select('id').where(matchDeadSession(now))
      const tokens = await trx
        .deleteFrom('tp_refresh_tokens')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('session_id', 'in', dead)]))
        .executeTakeFirst()
      const sessions = await trx.deleteFrom('tp_sessions').where(matchDeadSession(now)).executeTakeFirst()
      const mail = await trx.deleteFrom('tp_email_tokens').where('expires_at', '<=', now).executeTakeFirst()
      return {
        sessions: Number(sessions.numDeletedRows),
        refreshTokens: Number(tokens.numDeletedRows),
        emailTokens: Number(mail.numDeletedRows),
        sealedSuccessors: Number(sealed.numUpdatedRows),
      }
    })
  }
}
