import { afterEach, describe, expect, it } from 'vitest'
import { createSQLiteStorage } from '../storage/sql/sqlite-storage.js'
import type { Storage } from '../storage/storage.js'
import { makeSession, makeToken, makeUser } from '../testing/fixtures.js'
import { startSweeping } from './sweeper.js'

const silent = { info() {}, warn() {}, error() {} }
const DAY = 86_400_000
let storage: Storage

afterEach(async () => {
  await storage.close()
})

async function seed(now: number) {
  storage = await createSQLiteStorage({ path: ':memory:' })
  await storage.migrate()
  const user = makeUser()
  await storage.createUser(user)
  const dead = makeSession(user.id, {}, now - 40 * DAY)
  const live = makeSession(user.id, {}, now)
  await storage.createSession(dead, makeToken(dead.id, {}, now - 40 * DAY))
  await storage.createSession(live, makeToken(live.id, {}, now))
  return { dead, live }
}

describe('startSweeping', () => {
  it('deletes dead sessions on its timer and keeps live ones', async () => {
    const { dead, live } = await seed(Date.now())
    const sweeper = startSweeping(storage, 20, silent)
    try {
      const deadline = Date.now() + 5_000
      while ((await storage.findSession(dead.id)) !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(await storage.findSession(dead.id)).toBeNull()
      expect(await storage.findSession(live.id)).not.toBeNull()
    } finally {
      sweeper.stop()
    }
  })

  it('sweeps on demand with no timer, and logs a failed tick instead of throwing', async () => {
    const { dead } = await seed(Date.now())
    const sweeper = startSweeping(storage, 0, silent)
    expect(await sweeper.sweepNow()).toEqual({
      sessions: 1,
      refreshTokens: 1,
      emailTokens: 0,
      sealedSuccessors: 0,
      challenges: 0,
    })
    expect(await storage.findSession(dead.id)).toBeNull()
    sweeper.stop()

    const warnings: string[] = []
    const broken = startSweeping(
      { ...storage, deleteExpired: () => Promise.reject(new Error('database is gone')) } as Storage,
      10,
      { ...silent, warn: (_obj, msg) => warnings.push(String(msg)) },
    )
    const deadline = Date.now() + 5_000
    while (warnings.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10))
    broken.stop()
    expect(warnings[0]).toMatch(/sweep/)
  })
})
