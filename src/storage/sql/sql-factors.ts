import type { Kysely, Transaction } from 'kysely'
import { sha256Hex } from '../../internal/crypto.js'
import type * as model from '../factor-storage.js'
import type { Database } from './schema.js'
import { toNumber } from './schema.js'
import { challengeFromRow, passkeyFromRow, totpFromRow } from './sql-factor-rows.js'
import type { SQLTraits } from './sql-traits.js'

/** What {@link SQLFactorStorage} borrows from its `SQLStorage`. */
export interface SQLFactorStorageDeps {
  db: Kysely<Database>
  traits: SQLTraits
  /** Runs one operation inside the storage's guard. */
  run<T>(work: () => Promise<T>): Promise<T>
  /** Runs a transaction inside the guard, again when it lost a deadlock. */
  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T>
}

/**
 * The second factor's records on SQL (`Storage.factors` of `SQLStorage`). A transaction that
 * changes several rows of one user first locks the user's row where the database has row locks, so
 * that every such transaction on one user takes its locks in one order and a read-then-write (the
 * count before deleting a passkey) cannot interleave with another; SQLite serialises writers anyway.
 */
export class SQLFactorStorage implements model.FactorStorage {
  readonly #deps: SQLFactorStorageDeps

  constructor(deps: SQLFactorStorageDeps) {
    this.#deps = deps
  }

  async #lockUser(trx: Transaction<Database>, userId: string): Promise<void> {
    if (!this.#deps.traits.supportsForUpdate) return
    await trx.selectFrom('tp_users').select('id').where('id', '=', userId).forUpdate().execute()
  }

  findTOTPFactor(userId: string): Promise<model.TOTPFactorRecord | null> {
    return this.#deps.run(async () => {
      const row = await this.#deps.db
        .selectFrom('tp_totp_factors')
        .selectAll()
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return row ? totpFromRow(row) : null
    })
  }

  setPendingTOTPSecret(userId: string, sealedSecret: string, now: number): Promise<void> {
    return this.#deps.transaction(async (trx) => {
      await this.#lockUser(trx, userId)
      const updated = await trx
        .updateTable('tp_totp_factors')
        .set({ pending_secret: sealedSecret, pending_created_at: now })
        .where('user_id', '=', userId)
        .executeTakeFirst()
      if (updated.numUpdatedRows > 0n) return
      await trx
        .insertInto('tp_totp_factors')
        .values({
          user_id: userId,
          secret: null,
          enabled_at: null,
          pending_secret: sealedSecret,
          pending_created_at: now,
          last_step: null,
        })
        .execute()
    })
  }

  enableTOTPFactor(input: model.EnableTOTPInput): Promise<boolean> {
    const { userId, pendingSecret, step, now } = input
    return this.#deps.transaction(async (trx) => {
      await this.#lockUser(trx, userId)
      // The compare-and-set: the pending secret is still the one the code was checked against,
      // and the code's step comes after every step accepted before.
      const won = await trx
        .updateTable('tp_totp_factors')
        .set({
          secret: pendingSecret,
          enabled_at: now,
          pending_secret: null,
          pending_created_at: null,
          last_step: step,
        })
        .where('user_id', '=', userId)
        .where('pending_secret', '=', pendingSecret)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst()
      if (won.numUpdatedRows === 0n) return false
      await this.#replaceCodes(trx, userId, input.recoveryCodeHashes, now)
      await trx.updateTable('tp_users').set({ mfa_totp: 1 }).where('id', '=', userId).execute()
      return true
    })
  }

  acceptTOTPStep(userId: string, step: number): Promise<boolean> {
    return this.#deps.run(async () => {
      const won = await this.#deps.db
        .updateTable('tp_totp_factors')
        .set({ last_step: step })
        .where('user_id', '=', userId)
        .where('secret', 'is not', null)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst()
      return won.numUpdatedRows > 0n
    })
  }

  disableTOTPFactor(userId: string, _now: number): Promise<boolean> {
    return this.#deps.transaction(async (trx) => {
      await this.#lockUser(trx, userId)
      const row = await trx
        .selectFrom('tp_totp_factors')
        .select('secret')
        .where('user_id', '=', userId)
        .executeTakeFirst()
      await trx.deleteFrom('tp_totp_factors').where('user_id', '=', userId).execute()
      await trx.deleteFrom('tp_recovery_codes').where('user_id', '=', userId).execute()
      await trx.updateTable('tp_users').set({ mfa_totp: 0 }).where('id', '=', userId).execute()
      return row !== undefined && row.secret !== null
    })
  }

  async #replaceCodes(
    trx: Transaction<Database>,
    userId: string,
    codeHashes: readonly string[],
    now: number,
  ): Promise<void> {
    await trx.deleteFrom('tp_recovery_codes').where('user_id', '=', userId).execute()
    if (codeHashes.length === 0) return
    await trx
      .insertInto('tp_recovery_codes')
      .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: now, used_at: null })))
      .execute()
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], now: number): Promise<void> {
    return this.#deps.transaction(async (trx) => {
      await this.#lockUser(trx, userId)
      await this.#replaceCodes(trx, userId, codeHashes, now)
    })
  }

  consumeRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    return this.#deps.run(async () => {
      const won = await this.#deps.db
        .updateTable('tp_recovery_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return won.numUpdatedRows > 0n
    })
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return this.#deps.run(async () => {
      const row = await this.#deps.db
        .selectFrom('tp_recovery_codes')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow()
      return toNumber(row.n)
    })
  }

  async createPasskey(passkey: model.PasskeyRecord): Promise<boolean> {
    const credentialKey = sha256Hex(passkey.credentialId)
    try {
      return await this.#deps.transaction(async (trx) => {
        await this.#lockUser(trx, passkey.userId)
        const taken = await trx
          .selectFrom('tp_passkeys')
          .select('id')
          .where('credential_key', '=', credentialKey)
          .executeTakeFirst()
        if (taken) return false
        await trx
          .insertInto('tp_passkeys')
          .values({
            id: passkey.id,
            user_id: passkey.userId,
            credential_key: credentialKey,
            credential_id: passkey.credentialId,
            public_key: passkey.publicKey,
            counter: passkey.counter,
            transports: JSON.stringify(passkey.transports),
            device_type: passkey.deviceType,
            backed_up: passkey.backedUp ? 1 : 0,
            name: passkey.name,
            created_at: passkey.createdAt,
            last_used_at: passkey.lastUsedAt,
          })
          .execute()
        await trx
          .updateTable('tp_users')
          .set((eb) => ({ mfa_passkeys: eb('mfa_passkeys', '+', 1) }))
          .where('id', '=', passkey.userId)
          .execute()
        return true
      })
    } catch (error) {
      // Two users registering one credential at the same instant: the unique index decides.
      if (this.#deps.traits.classifyError(error) === 'unique_other') return false
      if (error instanceof Error && this.#deps.traits.classifyError(error.cause) === 'unique_other')
        return false
      throw error
    }
  }

  listPasskeys(userId: string): Promise<model.PasskeyRecord[]> {
    return this.#deps.run(async () => {
      const rows = await this.#deps.db
        .selectFrom('tp_passkeys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute()
      return rows.map(passkeyFromRow)
    })
  }

  findPasskeyByCredentialId(credentialId: string): Promise<model.PasskeyRecord | null> {
    return this.#deps.run(async () => {
      const row = await this.#deps.db
        .selectFrom('tp_passkeys')
        .selectAll()
        .where('credential_key', '=', sha256Hex(credentialId))
        .executeTakeFirst()
      // The hash picked the row; the id itself must match too.
      return row && row.credential_id === credentialId ? passkeyFromRow(row) : null
    })
  }

  recordPasskeyUse(id: string, use: model.PasskeyUse): Promise<void> {
    return this.#deps.run(async () => {
      await this.#deps.db
        .updateTable('tp_passkeys')
        .set({ counter: use.counter, backed_up: use.backedUp ? 1 : 0, last_used_at: use.now })
        .where('id', '=', id)
        .execute()
    })
  }

  renamePasskey(id: string, userId: string, name: string): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.db
        .updateTable('tp_passkeys')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  deletePasskey(
    id: string,
    userId: string,
    options: { keepOne?: boolean } = {},
  ): Promise<model.DeletePasskeyResult> {
    return this.#deps.transaction(async (trx) => {
      await this.#lockUser(trx, userId)
      const owned = await trx.selectFrom('tp_passkeys').select('id').where('user_id', '=', userId).execute()
      if (!owned.some((row) => row.id === id)) return 'not_found'
      if (options.keepOne === true && owned.length <= 1) return 'last_credential'
      await trx.deleteFrom('tp_passkeys').where('id', '=', id).where('user_id', '=', userId).execute()
      await trx
        .updateTable('tp_users')
        .set({ mfa_passkeys: owned.length - 1 })
        .where('id', '=', userId)
        .execute()
      return 'deleted'
    })
  }

  createChallenge(challenge: model.ChallengeRecord): Promise<void> {
    return this.#deps.run(async () => {
      await this.#deps.db
        .insertInto('tp_challenges')
        .values({
          id: challenge.id,
          purpose: challenge.purpose,
          user_id: challenge.userId,
          challenge: challenge.challenge,
          attempts: challenge.attempts,
          created_at: challenge.createdAt,
          expires_at: challenge.expiresAt,
          used_at: null,
        })
        .execute()
    })
  }

  takeChallengeAttempt(
    id: string,
    purpose: model.ChallengePurpose,
    now: number,
    maxAttempts: number,
  ): Promise<model.ChallengeRecord | null> {
    return this.#deps.transaction(async (trx) => {
      // The conditional increment is the compare-and-set: no more than maxAttempts ever pass.
      const won = await trx
        .updateTable('tp_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .where('attempts', '<', maxAttempts)
        .executeTakeFirst()
      if (won.numUpdatedRows === 0n) return null
      return this.#readChallenge(trx, id)
    })
  }

  consumeChallenge(
    id: string,
    purpose: model.ChallengePurpose,
    now: number,
  ): Promise<model.ChallengeRecord | null> {
    return this.#deps.transaction(async (trx) => {
      const won = await trx
        .updateTable('tp_challenges')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      if (won.numUpdatedRows === 0n) return null
      return this.#readChallenge(trx, id)
    })
  }

  async #readChallenge(trx: Transaction<Database>, id: string): Promise<model.ChallengeRecord> {
    const row = await trx
      .selectFrom('tp_challenges')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    return challengeFromRow(row)
  }

  updateSessionAuthentication(sessionId: string, authTime: number, amr: readonly string[]): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.db
        .updateTable('tp_sessions')
        .set({ auth_time: authTime, amr: JSON.stringify(amr) })
        .where('id', '=', sessionId)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    })
  }

  deleteExpiredChallenges(now: number): Promise<number> {
    return this.#deps.run(async () => {
      const result = await this.#deps.db
        .deleteFrom('tp_challenges')
        .where('expires_at', '<=', now)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    })
  }
}
