import { createPrivateKey } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createAuth } from '../../src/auth.js'
import { ConfigError } from '../../src/errors.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, TEST_SECRET } from '../helpers/test-server.js'

// An SQLite file on purpose: the keys must survive a restart of the process's database handle.
describe('keys at rest', () => {
  it('keeps keys in the database across restarts, encrypted, and needs the same secret to open them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenpair-keys-'))
    const database = `sqlite:${join(dir, 'auth.db')}`
    try {
      const first = await startTestServer({ rateLimit: false, database })
      const user = await registerBearer(first.url)
      const stored = await first.auth.storage.listKeys()
      expect(stored).toHaveLength(1)
      expect(stored[0]!.privateJwk).not.toContain('"d"')
      expect(() => createPrivateKey({ key: JSON.parse(stored[0]!.publicJwk), format: 'jwk' })).toThrow()
      await first.close()

      const second = await startTestServer({ rateLimit: false, database })
      const res = await request(`${second.url}/auth/me`, {
        headers: { authorization: `Bearer ${user.accessToken}` },
      })
      expect(res.status).toBe(200)
      expect((await second.auth.storage.listKeys()).map((k) => k.kid)).toEqual(stored.map((k) => k.kid))
      await second.close()

      await expect(createAuth({ database, secret: `${TEST_SECRET}-other` })).rejects.toBeInstanceOf(
        ConfigError,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
