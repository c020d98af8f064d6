import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthError } from '../errors.js'
import type { EmailTokenRecord, Storage } from '../storage/storage.js'
import { makeKey, makeSession, makeToken, makeUser } from './fixtures.js'

/** How the conformance suite gets a storage. */
export interface ConformanceOptions {
  /** Opens a new storage on the adapter's test database (a new connection or pool each call). */
  create: () => Promise<Storage>
  /** Empties the database before each case (after `migrate`). Default: nothing, for a fresh database per `create`. */
  reset?: (storage: Storage) => Promise<void>
  /** How many parallel consumes the race sends. Default 24. */
  raceSize?: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

async function expectAuthError(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => e instanceof AuthError && e.code === code)
}

/**
 * The contract of {@link Storage}, run unchanged against every adapter. An adapter's test file
 * is a few lines of wiring:
 *
 * @example
 * ```ts
 * describeStorageConformance('sqlite', { create: () => createSQLiteStorage({ path: ':memory:' }) })
 * ```
 */
export function describeStorageConformance(name: string, options: ConformanceOptions): void {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage
    const extra: Storage[] = []

    beforeEach(async () => {
      storage = await options.create()
      await storage.migrate()
      await options.reset?.(storage)
    })

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close()
      await storage.close()
    })

    /** A user with one live session whose first refresh token is returned. */
    async function seedSession(now = Date.now()) {
      const user = makeUser({}, now)
      await storage.createUser(user)
      const session = makeSession(user.id, {}, now)
      const token = makeToken(session.id, {}, now)
      await storage.createSession(session, token)
      return { user, session, token }
    }

    /** Consumes a token, offering a fresh successor. */
    function consume(
      tokenHash: string,
      sessionId: string,
      now: number,
      graceMs: number,
      on: Storage = storage,
    ) {
      return on.consumeRefreshToken({
        tokenHash,
        sessionId,
        now,
        graceMs,
        next: makeToken(sessionId, { expiresAt: now + DAY }, now),
      })
    }

    describe('setup', () => {
      it('answers unavailable, not a driver error, once closed', async () => {
        const closed = await options.create()
        await closed.close()
        await expectAuthError(closed.findUserById('someone'), 'unavailable')
      })

      it('migrates twice without harm and answers ping', async () => {
        await storage.migrate()
        await expect(storage.ping()).resolves.toBeUndefined()
      })
    })

    describe('users', () => {
      it('stores a user and finds it by id, username and email', async () => {
        const user = makeUser({ roles: ['user', 'admin'], emailVerified: true })
        await storage.createUser(user)
        expect(await storage.findUserById(user.id)).toEqual(user)
        expect(await storage.findUserByLogin(user.username)).toEqual(user)
        expect(await storage.findUserByLogin(user.email)).toEqual(user)
        expect(await storage.findUserById('no-such-id')).toBeNull()
        expect(await storage.findUserByLogin('nobody')).toBeNull()
      })

      it('refuses a taken username, whatever its case', async () => {
        const user = makeUser()
        await storage.createUser(user)
        await expectAuthError(storage.createUser(makeUser({ username: user.username })), 'username_taken')
        await expectAuthError(
          storage.createUser(makeUser({ username: user.username.toUpperCase() })),
          'username_taken',
        )
      })

      it('refuses a taken email, whatever its case', async () => {
        const user = makeUser()
        await storage.createUser(user)
        await expectAuthError(storage.createUser(makeUser({ email: user.email })), 'email_taken')
        await expectAuthError(
          storage.createUser(makeUser({ email: user.email.toUpperCase() })),
          'email_taken',
        )
      })

      it('names the taken field by its constraint, not by the words in the value', async () => {
        // Drivers put the duplicate value in their messages; an address that contains "username"
        // must still be reported as a taken email, and a name that contains "email" as a taken name.
        const user = makeUser({ username: `email_${makeUser().id.slice(0, 8)}` })
        user.email = `username_${user.id.slice(0, 8)}@example.com`
        await storage.createUser(user)
        await expectAuthError(storage.createUser(makeUser({ email: user.email })), 'email_taken')
        await expectAuthError(storage.createUser(makeUser({ username: user.username })), 'username_taken')
      })

      it('lets exactly one of two parallel registrations of one name win', async () => {
        const a = makeUser()
        const b = makeUser({ username: a.username })
        const results = await Promise.allSettled([storage.createUser(a), storage.createUser(b)])
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
        expect(rejected.reason).toBeInstanceOf(AuthError)
        expect((rejected.reason as AuthError).code).toBe('username_taken')
      })

      it('updates profile fields, refusing a taken email', async () => {
        const user = makeUser()
        const other = makeUser()
        await storage.createUser(user)
        await storage.createUser(other)
        const updated = await storage.updateUser(
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
          storage.updateUser(user.id, { email: other.email.toUpperCase() }, Date.now()),
          'email_taken',
        )
        expect((await storage.findUserById(user.id))?.email).toBe(`new_${user.email}`)
        expect(await storage.updateUser('no-such-id', { fullname: 'x' }, Date.now())).toBeNull()
      })

      it('disables and enables a user', async () => {
        const user = makeUser()
        await storage.createUser(user)
        expect(await storage.setUserDisabled(user.id, 1234, 1234)).toBe(true)
        expect((await storage.findUserById(user.id))?.disabledAt).toBe(1234)
        expect(await storage.setUserDisabled(user.id, null, 2000)).toBe(true)
        expect((await storage.findUserById(user.id))?.disabledAt).toBeNull()
        expect(await storage.setUserDisabled('no-such-id', 1, 1)).toBe(false)
      })

      it('lists users oldest first, by pages', async () => {
        const now = Date.now()
        const users = [makeUser({}, now - 3000), makeUser({}, now - 2000), makeUser({}, now - 1000)]
        for (const u of [users[2]!, users[0]!, users[1]!]) await storage.createUser(u)
        expect((await storage.listUsers({ limit: 2, offset: 0 })).map((u) => u.id)).toEqual([
          users[0]!.id,
          users[1]!.id,
        ])
        expect((await storage.listUsers({ limit: 2, offset: 2 })).map((u) => u.id)).toEqual([users[2]!.id])
      })

      it('updates a password hash', async () => {
        const user = makeUser()
        await storage.createUser(user)
        expect(await storage.updatePasswordHash(user.id, '$argon2id$new', user.createdAt + 1000)).toBe(true)
        const updated = await storage.findUserById(user.id)
        expect(updated?.passwordHash).toBe('$argon2id$new')
        expect(updated?.updatedAt).toBe(user.createdAt + 1000)
        expect(await storage.updatePasswordHash('no-such-id', 'x', Date.now())).toBe(false)
      })
    })

    describe('sessions', () => {
      it('creates a session and finds it', async () => {
        const { session } = await seedSession()
        expect(await storage.findSession(session.id)).toEqual(session)
        expect(await storage.findSession('no-such-session')).toBeNull()
      })

      it('lists active sessions newest first, leaving out revoked and expired ones', async () => {
        const now = Date.now()
        const user = makeUser()
        await storage.createUser(user)
        const older = makeSession(user.id, { createdAt: now - 2000 })
        const newer = makeSession(user.id, { createdAt: now - 1000 })
        const revoked = makeSession(user.id, {
          createdAt: now - 500,
          revokedAt: now - 100,
          revokedReason: 'logout',
        })
        const expired = makeSession(user.id, { createdAt: now - 400, expiresAt: now - 1 })
        const idle = makeSession(user.id, { createdAt: now - 300, idleExpiresAt: now - 1 })
        const other = makeSession(makeUser().id)
        for (const s of [older, newer, revoked, expired, idle, other]) {
          await storage.createSession(s, makeToken(s.id))
        }
        const list = await storage.listActiveSessions(user.id, now)
        expect(list.map((s) => s.id)).toEqual([newer.id, older.id])
      })

      it('revokes one session of its own user only', async () => {
        const { user, session } = await seedSession()
        const now = Date.now()
        expect(await storage.revokeSession(session.id, 'someone-else', 'logout', now)).toBe(false)
        expect(await storage.revokeSession(session.id, user.id, 'logout', now)).toBe(true)
        expect(await storage.revokeSession(session.id, user.id, 'logout', now)).toBe(false)
        const stored = await storage.findSession(session.id)
        expect(stored?.revokedAt).toBe(now)
        expect(stored?.revokedReason).toBe('logout')
      })

      it('revokes all sessions of a user but one, and counts them', async () => {
        const user = makeUser()
        await storage.createUser(user)
        const sessions = [makeSession(user.id), makeSession(user.id), makeSession(user.id)]
        for (const s of sessions) await storage.createSession(s, makeToken(s.id))
        const bystander = await seedSession()
        const now = Date.now()
        const keep = sessions[0]!.id
        expect(
          await storage.revokeUserSessions(user.id, 'password_changed', now, { exceptSessionId: keep }),
        ).toBe(2)
        expect((await storage.listActiveSessions(user.id, now)).map((s) => s.id)).toEqual([keep])
        expect(await storage.revokeUserSessions(user.id, 'logout_all', now)).toBe(1)
        expect(await storage.listActiveSessions(user.id, now)).toEqual([])
        expect(await storage.listActiveSessions(bystander.user.id, now)).toHaveLength(1)
      })
    })

    describe('rotation', () => {
      it('rotates an unused token once, storing its successor and touching the session', async () => {
        const { session, token } = await seedSession()
        const now = Date.now() + 1000
        const next = makeToken(session.id, { expiresAt: now + 2 * DAY }, now)
        const result = await storage.consumeRefreshToken({
          tokenHash: token.tokenHash,
          sessionId: session.id,
          now,
          graceMs: 0,
          next,
        })
        expect(result.status).toBe('rotated')
        if (result.status !== 'rotated') return
        expect(result.session.lastUsedAt).toBe(now)
        expect(result.session.idleExpiresAt).toBe(next.expiresAt)
        const again = await storage.consumeRefreshToken({
          tokenHash: next.tokenHash,
          sessionId: session.id,
          now: now + 1,
          graceMs: 0,
          next: makeToken(session.id, {}, now + 1),
        })
        expect(again.status).toBe('rotated')
      })

      it('answers invalid for an unknown token, another session, an expired token or a dead session', async () => {
        const now = Date.now()
        const { session, token } = await seedSession(now)
        expect((await consume('f'.repeat(64), session.id, now, 0)).status).toBe('invalid')
        const other = await seedSession(now)
        expect((await consume(token.tokenHash, other.session.id, now, 0)).status).toBe('invalid')
        expect((await consume(token.tokenHash, session.id, token.expiresAt + 1, 0)).status).toBe('invalid')

        const revoked = await seedSession(now)
        await storage.revokeSession(revoked.session.id, revoked.user.id, 'logout', now)
        expect((await consume(revoked.token.tokenHash, revoked.session.id, now + 1, 0)).status).toBe(
          'invalid',
        )

        const expired = await seedSession(now)
        expect(
          (await consume(expired.token.tokenHash, expired.session.id, expired.session.expiresAt + 1, 0))
            .status,
        ).toBe('invalid')
      })

      it('gives a used token a sibling within the grace window', async () => {
        const { session, token } = await seedSession()
        const now = Date.now()
        expect((await consume(token.tokenHash, session.id, now, 10_000)).status).toBe('rotated')
        const sibling = await consume(token.tokenHash, session.id, now + 9_000, 10_000)
        expect(sibling.status).toBe('grace')
        expect((await storage.findSession(session.id))?.revokedAt).toBeNull()
      })

      it('revokes the session when a used token comes back after the grace window, leaving no live token', async () => {
        const { user, session, token } = await seedSession()
        const now = Date.now()
        const nextToken = makeToken(session.id, { expiresAt: now + DAY }, now)
        const first = await storage.consumeRefreshToken({
          tokenHash: token.tokenHash,
          sessionId: session.id,
          now,
          graceMs: 10_000,
          next: nextToken,
        })
        expect(first.status).toBe('rotated')
        const reuse = await consume(token.tokenHash, session.id, now + 11_000, 10_000)
        expect(reuse.status).toBe('reused')
        const stored = await storage.findSession(session.id)
        expect(stored?.revokedReason).toBe('reuse_detected')
        // The successor, and the reused token itself, are dead from now on.
        expect((await consume(nextToken.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
        expect((await consume(token.tokenHash, session.id, now + 12_000, 10_000)).status).toBe('invalid')
        expect(await storage.listActiveSessions(user.id, now + 12_000)).toEqual([])
      })

      it('treats any second use as reuse when the grace window is 0', async () => {
        const { session, token } = await seedSession()
        const now = Date.now()
        expect((await consume(token.tokenHash, session.id, now, 0)).status).toBe('rotated')
        expect((await consume(token.tokenHash, session.id, now, 0)).status).toBe('reused')
      })

      async function race(graceMs: number) {
        const { session, token } = await seedSession()
        const peers = [storage]
        if (storage.capabilities.sharedAcrossProcesses) {
          for (let i = 0; i < 3; i++) {
            const peer = await options.create()
            extra.push(peer)
            peers.push(peer)
          }
        }
        const n = options.raceSize ?? 24
        const now = Date.now()
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            consume(token.tokenHash, session.id, now, graceMs, peers[i % peers.length]),
          ),
        )
        return { session, statuses: results.map((r) => r.status) }
      }

      it('lets exactly one of N parallel consumes win, the rest get siblings within grace', async () => {
        const { statuses } = await race(60_000)
        expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
        expect(statuses.filter((s) => s === 'grace')).toHaveLength(statuses.length - 1)
      })

      it('lets exactly one of N parallel consumes win without grace, and the rest revoke the session', async () => {
        const { session, statuses } = await race(0)
        expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1)
        expect(statuses.every((s) => s === 'rotated' || s === 'reused' || s === 'invalid')).toBe(true)
        expect(statuses.filter((s) => s === 'reused').length).toBeGreaterThanOrEqual(1)
        expect((await storage.findSession(session.id))?.revokedReason).toBe('reuse_detected')
      })
    })

    describe('mail tokens', () => {
      function mailToken(userId: string, overrides: Partial<EmailTokenRecord> = {}): EmailTokenRecord {
        const now = Date.now()
        return {
          tokenHash: makeToken('x').tokenHash,
          userId,
          purpose: 'verify_email',
          email: 'someone@example.com',
          createdAt: now,
          expiresAt: now + HOUR,
          ...overrides,
        }
      }

      it('consumes a token once, and never for another purpose or after expiry', async () => {
        const user = makeUser()
        await storage.createUser(user)
        const token = mailToken(user.id)
        await storage.createEmailToken(token)
        expect(await storage.consumeEmailToken(token.tokenHash, 'reset_password', Date.now())).toBeNull()
        expect(await storage.consumeEmailToken(token.tokenHash, 'verify_email', Date.now())).toEqual(token)
        expect(await storage.consumeEmailToken(token.tokenHash, 'verify_email', Date.now())).toBeNull()
        const expiring = mailToken(user.id, { purpose: 'reset_password' })
        await storage.createEmailToken(expiring)
        expect(
          await storage.consumeEmailToken(expiring.tokenHash, 'reset_password', expiring.expiresAt),
        ).toBeNull()
        expect(await storage.consumeEmailToken('0'.repeat(64), 'verify_email', Date.now())).toBeNull()
      })

      it('supersedes the older unused token of the same purpose only', async () => {
        const user = makeUser()
        await storage.createUser(user)
        const old = mailToken(user.id)
        const reset = mailToken(user.id, { purpose: 'reset_password' })
        const fresh = mailToken(user.id)
        await storage.createEmailToken(old)
        await storage.createEmailToken(reset)
        await storage.createEmailToken(fresh)
        expect(await storage.consumeEmailToken(old.tokenHash, 'verify_email', Date.now())).toBeNull()
        expect(await storage.consumeEmailToken(fresh.tokenHash, 'verify_email', Date.now())).not.toBeNull()
        expect(await storage.consumeEmailToken(reset.tokenHash, 'reset_password', Date.now())).not.toBeNull()
      })

      it('stores parallel mail-token requests of one user without failing, the last one usable', async () => {
        // Two clicks on "send the link again" arrive together: neither may fail (a deadlock between
        // the supersede and the insert would answer 5xx), and a link mailed after them still works.
        const user = makeUser()
        await storage.createUser(user)
        const peers = [storage]
        if (storage.capabilities.sharedAcrossProcesses) {
          for (let i = 0; i < 3; i++) {
            const peer = await options.create()
            extra.push(peer)
            peers.push(peer)
          }
        }
        for (let round = 0; round < 3; round++) {
          const results = await Promise.allSettled(
            Array.from({ length: 12 }, (_, i) =>
              peers[i % peers.length]!.createEmailToken(mailToken(user.id)),
            ),
          )
          expect(results.filter((r) => r.status === 'rejected')).toEqual([])
        }
        const last = mailToken(user.id)
        await storage.createEmailToken(last)
        expect(await storage.consumeEmailToken(last.tokenHash, 'verify_email', Date.now())).toEqual(last)
      })

      it('lets exactly one of N parallel consumes of a mail token win', async () => {
        const user = makeUser()
        await storage.createUser(user)
        const token = mailToken(user.id, { purpose: 'reset_password' })
        await storage.createEmailToken(token)
        const peers = [storage]
        if (storage.capabilities.sharedAcrossProcesses) {
          for (let i = 0; i < 3; i++) {
            const peer = await options.create()
            extra.push(peer)
            peers.push(peer)
          }
        }
        const now = Date.now()
        const results = await Promise.all(
          Array.from({ length: options.raceSize ?? 24 }, (_, i) =>
            peers[i % peers.length]!.consumeEmailToken(token.tokenHash, 'reset_password', now),
          ),
        )
        expect(results.filter((r) => r !== null)).toHaveLength(1)
      })
    })

    describe('keys', () => {
      it('lists keys newest first and rotates the previous key of the same algorithm', async () => {
        const now = Date.now()
        const first = makeKey({ createdAt: now - 1000 })
        const other = makeKey({ alg: 'ES256', createdAt: now - 900 })
        const second = makeKey({ createdAt: now })
        await storage.insertKey(first)
        await storage.insertKey(other)
        await storage.insertKey(second)
        const keys = await storage.listKeys()
        expect(keys.map((k) => k.kid)).toEqual([second.kid, other.kid, first.kid])
        expect(keys.find((k) => k.kid === first.kid)?.rotatedAt).toBe(now)
        expect(keys.find((k) => k.kid === other.kid)?.rotatedAt).toBeNull()
        expect(keys[0]).toEqual(second)
      })

      it('retires a key once', async () => {
        const key = makeKey()
        await storage.insertKey(key)
        expect(await storage.retireKey(key.kid, 123)).toBe(true)
        expect(await storage.retireKey(key.kid, 456)).toBe(false)
        expect(await storage.retireKey('no-such-kid', 456)).toBe(false)
        expect((await storage.listKeys())[0]?.retiredAt).toBe(123)
      })
    })

    describe('sweep', () => {
      it('deletes dead sessions and expired tokens, and keeps live ones', async () => {
        const now = Date.now()
        const live = await seedSession(now)
        const dead = await seedSession(now - 40 * DAY)
        const user = makeUser()
        await storage.createUser(user)
        const liveSession = makeSession(user.id, {}, now)
        const expiredToken = makeToken(liveSession.id, { expiresAt: now - 1 }, now - DAY)
        await storage.createSession(liveSession, expiredToken)
        await storage.createEmailToken({
          tokenHash: makeToken('x').tokenHash,
          userId: user.id,
          purpose: 'verify_email',
          email: user.email,
          createdAt: now - 2 * HOUR,
          expiresAt: now - HOUR,
        })
        const result = await storage.deleteExpired(now)
        expect(result).toEqual({ sessions: 1, refreshTokens: 2, emailTokens: 1 })
        expect(await storage.findSession(dead.session.id)).toBeNull()
        expect(await storage.findSession(live.session.id)).not.toBeNull()
        expect(await storage.findSession(liveSession.id)).not.toBeNull()
        const stillLive = await consume(live.token.tokenHash, live.session.id, now, 0)
        expect(stillLive.status).toBe('rotated')
      })
    })
  })
}
