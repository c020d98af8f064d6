import { describe, expect, it } from 'vitest'
import { AuthError } from '../errors.js'
import { type ConformanceSuite, expectAuthError } from './conformance-suite.js'
import { makeUser } from './fixtures.js'

/**
 * The user cases: unique names and addresses (whatever their case, and in a race), profile
 * updates, disabling, pages.
 */
export function describeUserConformance(suite: ConformanceSuite): void {
  describe('users', () => {
    it('stores a user and finds it by id, username and email', async () => {
      const user = makeUser({ roles: ['user', 'admin'], emailVerified: true })
      await suite.storage.createUser(user)
      expect(await suite.storage.findUserById(user.id)).toEqual(user)
      expect(await suite.storage.findUserByLogin(user.username)).toEqual(user)
      expect(await suite.storage.findUserByLogin(user.email)).toEqual(user)
      expect(await suite.storage.findUserById('no-such-id')).toBeNull()
      expect(await suite.storage.findUserByLogin('nobody')).toBeNull()
    })

    for (const [field, code] of [
      ['username', 'username_taken'],
      ['email', 'email_taken'],
    ] as const) {
      it(`refuses a taken ${field}, whatever its case`, async () => {
        const user = makeUser()
        await suite.storage.createUser(user)
        for (const taken of [user[field], user[field].toUpperCase()]) {
          await expectAuthError(suite.storage.createUser(makeUser({ [field]: taken })), code)
        }
      })
    }

    it('names the taken field by its constraint, not by the words in the value', async () => {
      // Drivers put the duplicate value in their messages; an address that contains "username"
      // must still be reported as a taken email, and a name that contains "email" as a taken name.
      const user = makeUser({ username: `email_${makeUser().id.slice(0, 8)}` })
      user.email = `username_${user.id.slice(0, 8)}@example.com`
      await suite.storage.createUser(user)
      await expectAuthError(suite.storage.createUser(makeUser({ email: user.email })), 'email_taken')
      await expectAuthError(suite.storage.createUser(makeUser({ username: user.username })), 'username_taken')
    })

    it('lets exactly one of two parallel registrations of one name win', async () => {
      const a = makeUser()
      const b = makeUser({ username: a.username })
      const results = await Promise.allSettled([suite.storage.createUser(a), suite.storage.createUser(b)])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect(rejected.reason).toBeInstanceOf(AuthError)
      expect((rejected.reason as AuthError).code).toBe('username_taken')
    })

    it('updates profile fields, refusing a taken email', async () => {
      const user = makeUser()
      const other = makeUser()
      await suite.storage.createUser(user)
      await suite.storage.createUser(other)
      const updated = await suite.storage.updateUser(
        user.id,
        { fullname: 'New Name', email: `new_${user.email}`, emailVerified: true },
        user.createdAt + 5,
      )
      expect(updated).toMatchObject({
        fullname: 'New Name',
        email: `new_${user.email}`,
        emailVerified: true,
      })
      expect(updated?.updatedAt).toBe(user.createdAt + 5)
      expect(updated?.username).toBe(user.username)
      await expectAuthError(
        suite.storage.updateUser(user.id, { email: other.email.toUpperCase() }, Date.now()),
        'email_taken',
      )
      expect((await suite.storage.findUserById(user.id))?.email).toBe(`new_${user.email}`)
      expect(await suite.storage.updateUser('no-such-id', { fullname: 'x' }, Date.now())).toBeNull()
    })

    it('keeps the metadata as given, and replaces it whole', async () => {
      const metadata = {
        plan: 'pro',
        seats: 3,
        tags: ['a', 'é'],
        nested: { on: true, none: null },
        'a.b': 1,
        $x: 2,
      }
      const user = makeUser({ metadata })
      await suite.storage.createUser(user)
      expect((await suite.storage.findUserById(user.id))?.metadata).toEqual(metadata)
      expect((await suite.storage.findUserByLogin(user.username))?.metadata).toEqual(metadata)
      const updated = await suite.storage.updateUser(user.id, { metadata: { plan: 'free' } }, Date.now())
      expect(updated?.metadata).toEqual({ plan: 'free' })
      // Other changes leave it as it is.
      await suite.storage.updateUser(user.id, { fullname: 'Renamed' }, Date.now())
      expect((await suite.storage.findUserById(user.id))?.metadata).toEqual({ plan: 'free' })
      const plain = makeUser()
      await suite.storage.createUser(plain)
      expect((await suite.storage.findUserById(plain.id))?.metadata).toEqual({})
    })

    it('replaces the roles whole', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const updated = await suite.storage.updateUser(user.id, { roles: ['user', 'admin'] }, Date.now())
      expect(updated?.roles).toEqual(['user', 'admin'])
      await suite.storage.updateUser(user.id, { roles: ['auditor'] }, Date.now())
      expect((await suite.storage.findUserById(user.id))?.roles).toEqual(['auditor'])
    })

    it('disables and enables a user', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      expect(await suite.storage.setUserDisabled(user.id, 1234, 1234)).toBe(true)
      expect((await suite.storage.findUserById(user.id))?.disabledAt).toBe(1234)
      expect(await suite.storage.setUserDisabled(user.id, null, 2000)).toBe(true)
      expect((await suite.storage.findUserById(user.id))?.disabledAt).toBeNull()
      expect(await suite.storage.setUserDisabled('no-such-id', 1, 1)).toBe(false)
    })

    it('lists users oldest first, by pages', async () => {
      const now = Date.now()
      const users = [makeUser({}, now - 3000), makeUser({}, now - 2000), makeUser({}, now - 1000)]
      for (const u of [users[2]!, users[0]!, users[1]!]) await suite.storage.createUser(u)
      expect((await suite.storage.listUsers({ limit: 2, offset: 0 })).map((u) => u.id)).toEqual([
        users[0]!.id,
        users[1]!.id,
      ])
      expect((await suite.storage.listUsers({ limit: 2, offset: 2 })).map((u) => u.id)).toEqual([
        users[2]!.id,
      ])
    })

    it('updates a password hash', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      expect(await suite.storage.updatePasswordHash(user.id, '$argon2id$new', user.createdAt + 1000)).toBe(
        true,
      )
      const updated = await suite.storage.findUserById(user.id)
      expect(updated?.passwordHash).toBe('$argon2id$new')
      expect(updated?.updatedAt).toBe(user.createdAt + 1000)
      expect(await suite.storage.updatePasswordHash('no-such-id', 'x', Date.now())).toBe(false)
    })
  })
}
