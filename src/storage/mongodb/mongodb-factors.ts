import type { Collection } from 'mongodb'
import { sha256Hex } from '../../internal/crypto.js'
import type * as model from '../factor-storage.js'
import type { PasskeyDoc, SessionDoc, UserDoc } from './mongodb-documents.js'
import { classifyMongoError } from './mongodb-errors.js'

/** A challenge document; `expireAt` feeds the TTL index. */
export interface ChallengeDoc extends Omit<model.ChallengeRecord, 'id'> {
  _id: string
  usedAt: number | null
  expireAt: Date
}

/** What {@link MongoDBFactorStorage} borrows from its `MongoDBStorage`. */
export interface MongoDBFactorDeps {
  users: Collection<UserDoc>
  sessions: Collection<SessionDoc>
  challenges: Collection<ChallengeDoc>
  /** Runs one operation inside the storage's guard. */
  run<T>(work: () => Promise<T>): Promise<T>
}

function passkeyFromDoc(userId: string, doc: PasskeyDoc): model.PasskeyRecord {
  return {
    id: doc.id,
    userId,
    credentialId: doc.credentialId,
    publicKey: doc.publicKey,
    counter: doc.counter,
    transports: [...doc.transports],
    deviceType: doc.deviceType,
    backedUp: doc.backedUp,
    name: doc.name,
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt ?? null,
  }
}

function challengeFromDoc(doc: ChallengeDoc): model.ChallengeRecord {
  return {
    id: doc._id,
    purpose: doc.purpose,
    userId: doc.userId ?? null,
    challenge: doc.challenge ?? null,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
  }
}

/** A step filter: no step accepted yet, or an earlier one. */
function stepBefore(step: number) {
  return { $or: [{ 'totp.lastStep': null }, { 'totp.lastStep': { $lt: step } }] }
}

/**
 * The second factor's records on MongoDB (`Storage.factors` of `MongoDBStorage`). A user's TOTP
 * factor, recovery codes and passkeys live in the user's document, so that each change, with the
 * user's `mfa` summary, is one atomic single-document update (no transaction, as everywhere in
 * this adapter). Challenges have a collection of their own.
 */
export class MongoDBFactorStorage implements model.FactorStorage {
  readonly #deps: MongoDBFactorDeps

  constructor(deps: MongoDBFactorDeps) {
    this.#deps = deps
  }

  findTOTPFactor(userId: string): Promise<model.TOTPFactorRecord | null> {
    return this.#deps.run(async () => {
      const doc = await this.#deps.users.findOne({ _id: userId }, { projection: { totp: 1 } })
      const totp = doc?.totp
      if (!totp) return null
      return {
        userId,
        secret: totp.secret ?? null,
        enabledAt: totp.enabledAt ?? null,
        pendingSecret: totp.pendingSecret ?? null,
        pendingCreatedAt: totp.pendingCreatedAt ?? null,
        lastStep: totp.lastStep ?? null,
      }
    })
  }

  setPendingTOTPSecret(userId: string, sealedSecret: string, now: number): Promise<void> {
    return this.#deps.run(async () => {
      await this.#deps.users.updateOne(
        { _id: userId },
        { $set: { 'totp.pendingSecret': sealedSecret, 'totp.pendingCreatedAt': now } },
      )
    })
  }

  enableTOTPFactor(input: model.EnableTOTPInput): Promise<boolean> {
    const { userId, pendingSecret, step, now } = input
    return this.#deps.run(async () => {
      const result = await this.#deps.users.updateOne(
        { _id: userId, 'totp.pendingSecret': pendingSecret, ...stepBefore(step) },
        {
          $set: {
            'totp.secret': pendingSecret,
            'totp.enabledAt': now,
            'totp.pendingSecret': null,
            'totp.pendingCreatedAt': null,
            'totp.lastStep': step,
            'mfa.totp': true,
            recoveryCodes: input.recoveryCodeHashes.map((hash) => ({ hash, usedAt: null })),
          },
        },
      )
      return result.matchedCount > 0
    })
  }

  acceptTOTPStep(userId: string, step: number): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.users.updateOne(
        { _id: userId, 'totp.secret': { $type: 'string' }, ...stepBefore(step) },
        { $set: { 'totp.lastStep': step } },
      )
      return result.matchedCount > 0
    })
  }

  disableTOTPFactor(userId: string, _now: number): Promise<boolean> {
    return this.#deps.run(async () => {
      const before = await this.#deps.users.findOneAndUpdate(
        { _id: userId },
        { $unset: { totp: '', recoveryCodes: '' }, $set: { 'mfa.totp': false } },
        { returnDocument: 'before', projection: { totp: 1 } },
      )
      return typeof before?.totp?.secret === 'string'
    })
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], _now: number): Promise<void> {
    return this.#deps.run(async () => {
      await this.#deps.users.updateOne(
        { _id: userId },
        { $set: { recoveryCodes: codeHashes.map((hash) => ({ hash, usedAt: null })) } },
      )
    })
  }

  consumeRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.users.updateOne(
        { _id: userId, recoveryCodes: { $elemMatch: { hash: codeHash, usedAt: null } } },
        { $set: { 'recoveryCodes.$.usedAt': now } },
      )
      return result.matchedCount > 0
    })
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return this.#deps.run(async () => {
      const doc = await this.#deps.users.findOne({ _id: userId }, { projection: { recoveryCodes: 1 } })
      return (doc?.recoveryCodes ?? []).filter((code) => code.usedAt === null).length
    })
  }

  createPasskey(passkey: model.PasskeyRecord): Promise<boolean> {
    return this.#deps.run(async () => {
      const { userId, ...fields } = passkey
      const credentialKey = sha256Hex(passkey.credentialId)
      try {
        const result = await this.#deps.users.updateOne(
          { _id: userId, 'passkeys.credentialKey': { $ne: credentialKey } },
          { $push: { passkeys: { ...fields, credentialKey } }, $inc: { 'mfa.passkeys': 1 } },
        )
        return result.matchedCount > 0
      } catch (error) {
        // Another user's document holds the credential: the unique index refused it.
        if (classifyMongoError(error) === 'unique_other') return false
        throw error
      }
    })
  }

  listPasskeys(userId: string): Promise<model.PasskeyRecord[]> {
    return this.#deps.run(async () => {
      const doc = await this.#deps.users.findOne({ _id: userId }, { projection: { passkeys: 1 } })
      return (doc?.passkeys ?? [])
        .map((p) => passkeyFromDoc(userId, p))
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    })
  }

  findPasskeyByCredentialId(credentialId: string): Promise<model.PasskeyRecord | null> {
    return this.#deps.run(async () => {
      const credentialKey = sha256Hex(credentialId)
      const doc = await this.#deps.users.findOne(
        { 'passkeys.credentialKey': credentialKey },
        { projection: { passkeys: 1 } },
      )
      const found = doc?.passkeys?.find((p) => p.credentialId === credentialId)
      return doc && found ? passkeyFromDoc(doc._id, found) : null
    })
  }

  recordPasskeyUse(id: string, use: model.PasskeyUse): Promise<void> {
    return this.#deps.run(async () => {
      await this.#deps.users.updateOne(
        { 'passkeys.id': id },
        {
          $set: {
            'passkeys.$.counter': use.counter,
            'passkeys.$.backedUp': use.backedUp,
            'passkeys.$.lastUsedAt': use.now,
          },
        },
      )
    })
  }

  renamePasskey(id: string, userId: string, name: string): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.users.updateOne(
        { _id: userId, 'passkeys.id': id },
        { $set: { 'passkeys.$.name': name } },
      )
      return result.matchedCount > 0
    })
  }

  deletePasskey(
    id: string,
    userId: string,
    options: { keepOne?: boolean } = {},
  ): Promise<model.DeletePasskeyResult> {
    return this.#deps.run(async () => {
      // With keepOne, the filter itself demands a second passkey: the check and the pull are one
      // atomic update.
      const result = await this.#deps.users.updateOne(
        {
          _id: userId,
          'passkeys.id': id,
          ...(options.keepOne === true ? { 'passkeys.1': { $exists: true } } : {}),
        },
        { $pull: { passkeys: { id } }, $inc: { 'mfa.passkeys': -1 } },
      )
      if (result.matchedCount > 0) return 'deleted'
      const owned = await this.#deps.users.countDocuments({ _id: userId, 'passkeys.id': id })
      return owned > 0 ? 'last_credential' : 'not_found'
    })
  }

  createChallenge(challenge: model.ChallengeRecord): Promise<void> {
    return this.#deps.run(async () => {
      const { id, ...fields } = challenge
      await this.#deps.challenges.insertOne({
        _id: id,
        ...fields,
        usedAt: null,
        expireAt: new Date(challenge.expiresAt),
      })
    })
  }

  takeChallengeAttempt(
    id: string,
    purpose: model.ChallengePurpose,
    now: number,
    maxAttempts: number,
  ): Promise<model.ChallengeRecord | null> {
    return this.#deps.run(async () => {
      const doc = await this.#deps.challenges.findOneAndUpdate(
        { _id: id, purpose, usedAt: null, expiresAt: { $gt: now }, attempts: { $lt: maxAttempts } },
        { $inc: { attempts: 1 } },
        { returnDocument: 'after' },
      )
      return doc ? challengeFromDoc(doc) : null
    })
  }

  consumeChallenge(
    id: string,
    purpose: model.ChallengePurpose,
    now: number,
  ): Promise<model.ChallengeRecord | null> {
    return this.#deps.run(async () => {
      const doc = await this.#deps.challenges.findOneAndUpdate(
        { _id: id, purpose, usedAt: null, expiresAt: { $gt: now } },
        { $set: { usedAt: now } },
        { returnDocument: 'after' },
      )
      return doc ? challengeFromDoc(doc) : null
    })
  }

  updateSessionAuthentication(sessionId: string, authTime: number, amr: readonly string[]): Promise<boolean> {
    return this.#deps.run(async () => {
      const result = await this.#deps.sessions.updateOne(
        { _id: sessionId },
        { $set: { authTime, amr: [...amr] } },
      )
      return result.matchedCount > 0
    })
  }

  deleteExpiredChallenges(now: number): Promise<number> {
    return this.#deps.run(async () => {
      const result = await this.#deps.challenges.deleteMany({ expiresAt: { $lte: now } })
      return result.deletedCount
    })
  }
}
