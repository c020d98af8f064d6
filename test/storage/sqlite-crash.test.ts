import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SQLStorage } from '../../src/storage/sql/sql-storage.js'
import { createSQLiteStorage } from '../../src/storage/sql/sqlite-storage.js'
import { hashRefreshToken } from '../../src/tokens/refresh-token.js'
import { registerBearer, request } from '../helpers/http.js'
import { type Instance, startInstance } from '../scale/cluster.js'

// `kill -9` of `tokenpair serve` on an SQLite file in the middle of a burst of rotations (group
// commit, sqlite-group-commit.ts): every rotation that answered 200 must be in the file, and no
// token may be honoured twice, then or after a restart.
const SESSIONS = 24
/** Rotations answered before the kill: enough that several batches were committed. */
const ANSWERED_BEFORE_KILL = 150

interface Rotation {
  presented: string
  issued: string
}

describe('SQLite group commit survives kill -9 during a burst of rotations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-crash-'))
  const file = join(dir, 'crash.db')
  const env = {
    DATABASE_URL: `sqlite:${file}`,
    DATA_DIR: dir,
    AUTH_SECRET: randomBytes(36).toString('base64url'),
    COOKIE_SECURE: 'false',
    REFRESH_REUSE_GRACE: '0',
    RATE_LIMIT_LOGIN_IP: 'off',
    RATE_LIMIT_REGISTER: 'off',
    RATE_LIMIT_REFRESH: 'off',
  }
  const instances: Instance[] = []
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.kill()))
    rmSync(dir, { recursive: true, force: true })
  })

  const refresh = (instance: Instance, refreshToken: string) =>
    request<{ refreshToken: string }>(`${instance.url}/auth/refresh`, {
      body: { refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })

  it('keeps every rotation answered 200 and honours no token twice', async () => {
    const first = await startInstance(env)
    instances.push(first)
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => registerBearer(first.url)))

    // Each session rotates its token in a chain as fast as it is answered, all chains at once;
    // the process is killed once enough rotations were answered, with many still in flight.
    const answered: Rotation[] = []
    let killing: Promise<void> | null = null
    await Promise.all(
      sessions.map(async ({ refreshToken }) => {
        let current = refreshToken
        while (killing === null) {
          let res: Awaited<ReturnType<typeof refresh>>
          try {
            res = await refresh(first, current)
          } catch {
            return // the connection died with the process
          }
          if (res.status !== 200) throw new Error(`refresh answered ${res.status}`)
          answered.push({ presented: current, issued: res.body.data.refreshToken })
          current = res.body.data.refreshToken
          if (answered.length >= ANSWERED_BEFORE_KILL) killing ??= first.kill()
        }
      }),
    )
    await killing
    expect(first.child.signalCode).toBe('SIGKILL')
    expect(answered.length).toBeGreaterThanOrEqual(ANSWERED_BEFORE_KILL)

    // The file as the killed process left it.
    const storage = (await createSQLiteStorage({ path: file })) as SQLStorage
    try {
      const rows = await storage.db
        .selectFrom('tp_refresh_tokens')
        .select(['jti', 'token_hash', 'parent_jti', 'used_at', 'successor_jti'])
        .execute()
      const byHash = new Map(rows.map((row) => [row.token_hash, row]))
      for (const { presented, issued } of answered) {
        const child = byHash.get(hashRefreshToken(issued))
        const parent = byHash.get(hashRefreshToken(presented))
        expect(child, 'an answered rotation is in the file').toBeDefined()
        expect(parent?.used_at).not.toBeNull()
        expect(parent?.successor_jti).toBe(child?.jti)
        expect(child?.parent_jti).toBe(parent?.jti)
      }
      // No token has two successors: none was honoured twice, answered or not.
      const children = new Map<string, number>()
      for (const row of rows) {
        if (row.parent_jti !== null) children.set(row.parent_jti, (children.get(row.parent_jti) ?? 0) + 1)
      }
      expect([...children.values()].filter((n) => n > 1)).toEqual([])
    } finally {
      await storage.close()
    }

    // After a restart, a token that was answered once is refused.
    const second = await startInstance(env)
    instances.push(second)
    const again = await Promise.all(answered.slice(0, 40).map(({ presented }) => refresh(second, presented)))
    expect(again.map((r) => r.status).filter((s) => s !== 401)).toEqual([])
  }, 180_000)
})
