import type { Collection } from 'mongodb'
import { identityKey } from '../identity-key.js'
import type { IdentityRecord, UserRecord } from '../storage.js'
import { type UserDoc, userDoc } from './mongodb-documents.js'
import { classifyMongoError } from './mongodb-errors.js'

/* The identity operations of the MongoDB adapter. Identities live inside their user's document,
 * under a unique multikey index on `identities.key`: a first sign-in (a user and its identity)
 * is then one atomic insert, with no multi-document transaction. */

/** An identity inside its user's document. */
export interface IdentityDoc extends Omit<IdentityRecord, 'userId'> {
  /** Hex SHA-256 of issuer and subject: the unique key. */
  key: string
}

/** The unique index of `identities.key`: one provider account is linked to one user at most. */
export const IDENTITY_INDEX = 'tp_users_identity'

function identityDoc(identity: IdentityRecord): IdentityDoc {
  const { userId: _userId, ...rest } = identity
  return { ...rest, key: identityKey(identity.issuer, identity.subject) }
}

function identityFromDoc(userId: string, doc: IdentityDoc): IdentityRecord {
  const { key: _key, ...rest } = doc
  return { ...rest, userId }
}

/** Whether a driver error is a duplicate of the identity index (not of a user's name or address). */
function isIdentityDuplicate(error: unknown): boolean {
  return classifyMongoError(error) === 'unique_other'
}

/** The identity operations on the users collection. */
export class MongoDBIdentities {
  readonly #users: Collection<UserDoc>

  constructor(users: Collection<UserDoc>) {
    this.#users = users
  }

  async createUserWithIdentity(user: UserRecord, identity: IdentityRecord): Promise<boolean> {
    try {
      await this.#users.insertOne({ ...userDoc(user), identities: [identityDoc(identity)] })
      return true
    } catch (error) {
      if (isIdentityDuplicate(error)) return false
      throw error
    }
  }

  async createIdentity(identity: IdentityRecord): Promise<boolean> {
    const doc = identityDoc(identity)
    try {
      // The filter keeps a second copy out of the same document, which a unique index allows.
      const result = await this.#users.updateOne(
        { _id: identity.userId, 'identities.key': { $ne: doc.key } },
        { $push: { identities: doc } },
      )
      return result.modifiedCount > 0
    } catch (error) {
      if (isIdentityDuplicate(error)) return false
      throw error
    }
  }

  async findIdentity(issuer: string, subject: string): Promise<IdentityRecord | null> {
    const key = identityKey(issuer, subject)
    const user = await this.#users.findOne({ 'identities.key': key }, { projection: { identities: 1 } })
    const doc = user?.identities?.find((i) => i.key === key && i.issuer === issuer && i.subject === subject)
    return user && doc ? identityFromDoc(user._id, doc) : null
  }

  async listIdentities(userId: string): Promise<IdentityRecord[]> {
    const user = await this.#users.findOne({ _id: userId }, { projection: { identities: 1 } })
    return (user?.identities ?? [])
      .map((doc) => identityFromDoc(userId, doc))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  }

  async deleteIdentity(id: string, userId: string): Promise<boolean> {
    const result = await this.#users.updateOne(
      { _id: userId, 'identities.id': id },
      { $pull: { identities: { id } } },
    )
    return result.modifiedCount > 0
  }

  /** The index behind the uniqueness; only documents that hold an identity are in it. */
  async createIndex(): Promise<void> {
    await this.#users.createIndex(
      { 'identities.key': 1 },
      {
        name: IDENTITY_INDEX,
        unique: true,
        partialFilterExpression: { 'identities.key': { $exists: true } },
      },
    )
  }
}
