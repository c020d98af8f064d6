import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { IdentityRecord } from '../storage/storage.js'
import { type ConformanceSuite, expectAuthError } from './conformance-suite.js'
import { makeUser } from './fixtures.js'

/** An identity of `userId` at a test issuer, with a unique subject unless given. */
function makeIdentity(userId: string, overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    id: randomUUID(),
    userId,
    provider: 'corp',
    issuer: 'https://idp.example',
    subject: `sub-${randomUUID()}`,
    email: 'someone@example.com',
    createdAt: Date.now(),
    ...overrides,
  }
}

/**
 * The identity cases: the key is issuer + subject compared exactly, one provider account links to
 * one user however the calls race, a first sign-in writes the user and its identity together.
 */
export function describeIdentityConformance(suite: ConformanceSuite): void {
  describe('identities', () => {
    it('creates a user with its identity, and finds the identity by issuer and subject', async () => {
      const user = makeUser({ passwordHash: '' })
      const identity = makeIdentity(user.id)
      expect(await suite.storage.createUserWithIdentity(user, identity)).toBe(true)
      expect(await suite.storage.findUserById(user.id)).toEqual(user)
      expect(await suite.storage.findIdentity(identity.issuer, identity.subject)).toEqual(identity)
      expect(await suite.storage.listIdentities(user.id)).toEqual([identity])
      expect(await suite.storage.findIdentity('https://other.example', identity.subject)).toBeNull()
    })

    it('compares subjects exactly: another case is another person', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const lower = makeIdentity(user.id, { subject: 'abc-subject' })
      expect(await suite.storage.createIdentity(lower)).toBe(true)
      expect(await suite.storage.findIdentity(lower.issuer, 'ABC-SUBJECT')).toBeNull()
      const upper = makeIdentity(user.id, { subject: 'ABC-SUBJECT' })
      expect(await suite.storage.createIdentity(upper)).toBe(true)
      expect((await suite.storage.findIdentity(upper.issuer, 'ABC-SUBJECT'))?.id).toBe(upper.id)
    })

    it('writes neither the user nor the identity when either is taken', async () => {
      const first = makeUser()
      const identity = makeIdentity(first.id)
      expect(await suite.storage.createUserWithIdentity(first, identity)).toBe(true)
      // The same provider account again, for a new user: nothing is written.
      const second = makeUser()
      const again = makeIdentity(second.id, { subject: identity.subject })
      expect(await suite.storage.createUserWithIdentity(second, again)).toBe(false)
      expect(await suite.storage.findUserById(second.id)).toBeNull()
      // A taken address: the user's own error, and the identity is not linked.
      const third = makeUser({ email: first.email })
      const fresh = makeIdentity(third.id)
      await expectAuthError(suite.storage.createUserWithIdentity(third, fresh), 'email_taken')
      expect(await suite.storage.findIdentity(fresh.issuer, fresh.subject)).toBeNull()
    })

    it('links one provider account to one user, however many try at once', async () => {
      const users = Array.from({ length: 6 }, () => makeUser())
      for (const user of users) await suite.storage.createUser(user)
      const subject = `sub-${randomUUID()}`
      const results = await Promise.all(
        users.map((user) => suite.storage.createIdentity(makeIdentity(user.id, { subject }))),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      const linked = await suite.storage.findIdentity('https://idp.example', subject)
      expect(linked?.userId).toBe(users[results.indexOf(true)]!.id)
    })

    it('lists a user’s identities oldest first and unlinks only the owner’s', async () => {
      const user = makeUser()
      const other = makeUser()
      await suite.storage.createUser(user)
      await suite.storage.createUser(other)
      const now = Date.now()
      const newer = makeIdentity(user.id, {
        provider: 'github',
        issuer: 'https://github.com',
        createdAt: now,
      })
      const older = makeIdentity(user.id, { email: null, createdAt: now - 1000 })
      const theirs = makeIdentity(other.id)
      for (const identity of [newer, older, theirs])
        expect(await suite.storage.createIdentity(identity)).toBe(true)
      expect(await suite.storage.listIdentities(user.id)).toEqual([older, newer])
      expect(await suite.storage.deleteIdentity(theirs.id, user.id)).toBe(false)
      expect(await suite.storage.deleteIdentity(older.id, user.id)).toBe(true)
      expect(await suite.storage.deleteIdentity(older.id, user.id)).toBe(false)
      expect(await suite.storage.listIdentities(user.id)).toEqual([newer])
      expect(await suite.storage.listIdentities(other.id)).toEqual([theirs])
      // Unlinked, the provider account may be linked again (to anyone).
      expect(await suite.storage.createIdentity({ ...older, id: randomUUID(), userId: other.id })).toBe(true)
    })
  })
}
