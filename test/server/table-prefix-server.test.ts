import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/server/start-server.js'
import { registerBearer } from '../helpers/http.js'

/* TABLE_PREFIX reaches the ready server's storage: its tables, and its migrations' own. */

const dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-prefix-server-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('TABLE_PREFIX', () => {
  it('names the tables the server creates and writes', async () => {
    const file = join(dataDir, 'auth.db')
    const server = await startServer({
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${file}`,
      TABLE_PREFIX: 'srv_',
      AUTH_SECRET: 'table-prefix-secret-0123456789-abcdefghij',
      LOG_LEVEL: 'silent',
      RATE_LIMIT: 'off',
    })
    let username: string
    try {
      username = (await registerBearer(server.url)).username
    } finally {
      await server.stop()
    }
    const db = new Database(file, { readonly: true })
    try {
      const tables = db
        .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
        .pluck()
        .all() as string[]
      expect(tables).toEqual(expect.arrayContaining(['srv_users', 'srv_migrations', 'srv_signing_keys']))
      expect(tables.filter((name) => !name.startsWith('srv_'))).toEqual([])
      expect(db.prepare('select username from srv_users').pluck().all()).toEqual([username])
    } finally {
      db.close()
    }
  })
})
