import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSQLiteStorage } from '../../src/storage/sql/sqlite-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { makeSession, makeToken, makeUser } from '../../src/testing/fixtures.js'

// Writes that arrive together commit together (sqlite-group-commit.ts); each keeps its own
// outcome: a failing one undoes itself only, in the middle of a batch as at its end.
describe('SQLite group commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-group-'))
  let storage: Storage
  let n = 0
  beforeEach(async () => {
    storage = await createSQLiteStorage({ path: join(dir, `group-${n++}.db`) })
    await storage.migrate()
  })
  afterEach(() => storage.close())
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a failing write among parallel ones undoes itself only', async () => {
    const users = Array.from({ length: 30 }, () => makeUser())
    // Every third one takes the username of the one before it: refused, alone.
    const writes = users.map((user, i) =>
      i % 3 === 2 ? { ...user, username: users[i - 1]!.username } : user,
    )
    const results = await Promise.allSettled(writes.map((user) => storage.createUser(user)))
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))
    expect(refused).toEqual(writes.flatMap((_, i) => (i % 3 === 2 ? [i] : [])))
    for (const [i, user] of writes.entries()) {
      expect((await storage.findUserById(user.id))?.id ?? null).toBe(i % 3 === 2 ? null : user.id)
    }
  })

  it('a transaction that fails after its first statement leaves no trace, and the others of its batch stay', async () => {
    const user = makeUser()
    await storage.createUser(user)
    const first = makeSession(user.id)
    const firstToken = makeToken(first.id)
    await storage.createSession(first, firstToken)
    // 20 sessions at once; every fourth one's token reuses the first token's jti, so its session
    // INSERT succeeds and its token INSERT fails: the whole transaction must go.
    const sessions = Array.from({ length: 20 }, () => makeSession(user.id))
    const results = await Promise.allSettled(
      sessions.map((session, i) =>
        storage.createSession(session, {
          ...makeToken(session.id),
          ...(i % 4 === 0 ? { jti: firstToken.jti } : {}),
        }),
      ),
    )
    for (const [i, session] of sessions.entries()) {
      expect(results[i]!.status).toBe(i % 4 === 0 ? 'rejected' : 'fulfilled')
      expect((await storage.findSession(session.id))?.id ?? null).toBe(i % 4 === 0 ? null : session.id)
    }
    expect(await storage.findSession(first.id)).toEqual(first)
  })

  it('a write is read back at once once it was answered, by this storage and by another on the file', async () => {
    const other = await createSQLiteStorage({ path: join(dir, `group-${n - 1}.db`) })
    try {
      const users = Array.from({ length: 10 }, () => makeUser())
      await Promise.all(users.map((user) => storage.createUser(user)))
      for (const user of users) {
        expect((await storage.findUserById(user.id))?.id).toBe(user.id)
        expect((await other.findUserById(user.id))?.id).toBe(user.id)
      }
    } finally {
      await other.close()
    }
  })
})
