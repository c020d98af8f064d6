import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSQLiteStorage } from '../../src/storage/sql/sqlite-storage.js'
import { makeSession, makeToken, makeUser } from '../../src/testing/fixtures.js'

// What the SQLite storage alone sustains for refreshes (the joined read, then the rotation) on a
// durable file, with `concurrency` of them in flight, no HTTP: the ceiling of POST /auth/refresh.
// Run: node --import tsx bench/micro/sqlite-rotation.ts [count] [concurrency]
const COUNT = Number(process.argv[2] ?? '5000')
const CONCURRENCY = Number(process.argv[3] ?? '50')

const file = join(tmpdir(), `tokenpair-rotation-${process.pid}.db`)
const storage = await createSQLiteStorage({ path: file })
try {
  await storage.migrate()
  const user = makeUser()
  await storage.createUser(user)
  const pairs: { session: ReturnType<typeof makeSession>; token: ReturnType<typeof makeToken> }[] = []
  for (let i = 0; i < COUNT; i++) {
    const session = makeSession(user.id)
    const token = makeToken(session.id)
    pairs.push({ session, token })
  }
  await Promise.all(pairs.map(({ session, token }) => storage.createSession(session, token)))
  let next = 0
  const start = performance.now()
  async function worker(): Promise<void> {
    while (next < pairs.length) {
      const { session, token } = pairs[next++]!
      const found = await storage.findSessionWithUser!(session.id)
      if (!found) throw new Error('session not found')
      const now = Date.now()
      const child = makeToken(session.id, { parentJti: token.jti }, now)
      const result = await storage.consumeRefreshToken({
        tokenHash: token.tokenHash,
        sessionId: session.id,
        now,
        graceMs: 0,
        next: child,
        sealedNext: 'sealed',
      })
      if (result.status !== 'rotated') throw new Error(`rotation answered ${result.status}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - start) / 1000
  process.stdout.write(`${COUNT} refreshes, ${CONCURRENCY} in flight: ${(COUNT / seconds).toFixed(0)}/s\n`)
} finally {
  await storage.close()
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
}
