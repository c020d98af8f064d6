import { describe, expect, it } from 'vitest'
import type { ConformanceSuite } from './conformance-suite.js'
import { makeSession, makeToken, makeUser } from './fixtures.js'

/** The session cases: creation, the list of live sessions, revocation of one and of all. */
export function describeSessionConformance(suite: ConformanceSuite): void {
  const { seedSession } = suite
  describe('sessions', () => {
    it('creates a session and finds it', async () => {
      const { session } = await seedSession()
      expect(await suite.storage.findSession(session.id)).toEqual(session)
      expect(await suite.storage.findSession('no-such-session')).toBeNull()
    })

    it('keeps the DPoP binding of a session', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const bound = makeSession(user.id, { dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })
      await suite.storage.createSession(bound, makeToken(bound.id))
      expect((await suite.storage.findSession(bound.id))?.dpopJkt).toBe(bound.dpopJkt)
      expect((await suite.storage.listActiveSessions(user.id, Date.now()))[0]?.dpopJkt).toBe(bound.dpopJkt)
    })

    it('finds a session with its user in one read, where the storage offers it', async () => {
      const { storage } = suite
      if (!storage.findSessionWithUser) return
      const { user, session } = await seedSession()
      const found = await storage.findSessionWithUser(session.id)
      expect(found).toEqual({ session, user: await storage.findUserById(user.id) })
      await storage.revokeSession(session.id, user.id, 'logout', Date.now())
      expect((await storage.findSessionWithUser(session.id))?.session.revokedReason).toBe('logout')
      expect(await storage.findSessionWithUser('no-such-session')).toBeNull()
    })

    it('lists active sessions newest first, leaving out revoked and expired ones', async () => {
      const now = Date.now()
      const user = makeUser()
      await suite.storage.createUser(user)
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
        await suite.storage.createSession(s, makeToken(s.id))
      }
      const list = await suite.storage.listActiveSessions(user.id, now)
      expect(list.map((s) => s.id)).toEqual([newer.id, older.id])
    })

    it('revokes one session of its own user only', async () => {
      const { user, session } = await seedSession()
      const now = Date.now()
      expect(await suite.storage.revokeSession(session.id, 'someone-else', 'logout', now)).toBe(false)
      expect(await suite.storage.revokeSession(session.id, user.id, 'logout', now)).toBe(true)
      expect(await suite.storage.revokeSession(session.id, user.id, 'logout', now)).toBe(false)
      const stored = await suite.storage.findSession(session.id)
      expect(stored?.revokedAt).toBe(now)
      expect(stored?.revokedReason).toBe('logout')
    })

    it('revokes all sessions of a user but one, and counts them', async () => {
      const user = makeUser()
      await suite.storage.createUser(user)
      const sessions = [makeSession(user.id), makeSession(user.id), makeSession(user.id)]
      for (const s of sessions) await suite.storage.createSession(s, makeToken(s.id))
      const bystander = await seedSession()
      const now = Date.now()
      const keep = sessions[0]!.id
      expect(
        await suite.storage.revokeUserSessions(user.id, 'password_changed', now, { exceptSessionId: keep }),
      ).toBe(2)
      expect((await suite.storage.listActiveSessions(user.id, now)).map((s) => s.id)).toEqual([keep])
      expect(await suite.storage.revokeUserSessions(user.id, 'logout_all', now)).toBe(1)
      expect(await suite.storage.listActiveSessions(user.id, now)).toEqual([])
      expect(await suite.storage.listActiveSessions(bystander.user.id, now)).toHaveLength(1)
    })

    it('lists revoked sessions since a time, newest first, up to a limit', async () => {
      const now = Date.now()
      const user = makeUser()
      await suite.storage.createUser(user)
      const sessions = [
        makeSession(user.id),
        makeSession(user.id),
        makeSession(user.id),
        makeSession(user.id),
      ]
      for (const s of sessions) await suite.storage.createSession(s, makeToken(s.id))
      const [old, first, second, live] = sessions as [
        (typeof sessions)[0],
        (typeof sessions)[0],
        (typeof sessions)[0],
        (typeof sessions)[0],
      ]
      await suite.storage.revokeSession(old.id, user.id, 'logout', now - 60_000)
      await suite.storage.revokeSession(first.id, user.id, 'logout', now - 2000)
      await suite.storage.revokeSession(second.id, user.id, 'session_deleted', now - 1000)
      const listed = await suite.storage.listRevokedSessions(now - 5000, 10)
      expect(listed).toEqual([
        { sid: second.id, userId: user.id, revokedAt: now - 1000 },
        { sid: first.id, userId: user.id, revokedAt: now - 2000 },
      ])
      expect(listed.map((s) => s.sid)).not.toContain(live.id)
      expect(await suite.storage.listRevokedSessions(now - 5000, 1)).toEqual([listed[0]])
      expect(await suite.storage.listRevokedSessions(now - 5000, 0)).toEqual([])
      expect((await suite.storage.listRevokedSessions(now - 60_000, 10)).map((s) => s.sid)).toEqual([
        second.id,
        first.id,
        old.id,
      ])
    })
  })
}
