import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import type { Storage } from '../storage/storage.js'
import { resolveDatabase } from './database-option.js'

/** The ConfigError that `fn` throws; fails the test when it throws none. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('no ConfigError was thrown')
}

/* Stand-ins with the members each driver's handle has: the check reads members, never a class. */
const pgPool = { connect: async () => ({}), query: async () => ({}), end: async () => {}, totalCount: 0 }
const mysqlPool = { getConnection: () => {}, query: () => {}, end: () => {} }
const mysqlPromisePool = { pool: mysqlPool, getConnection: async () => ({}), end: async () => {} }
const storage = {
  capabilities: { sharedAcrossProcesses: true },
  migrate: async () => {},
} as unknown as Storage

describe('resolveDatabase', () => {
  it('tells a URL, each kind of handle and a Storage apart', () => {
    expect(resolveDatabase('sqlite::memory:', undefined)).toMatchObject({
      databaseUrl: 'sqlite::memory:',
      tablePrefix: 'tp_',
    })
    for (const handle of [pgPool, mysqlPool, mysqlPromisePool]) {
      expect(resolveDatabase(handle, 'auth_')).toMatchObject({
        storage: null,
        databaseUrl: null,
        databaseHandle: handle,
        tablePrefix: 'auth_',
      })
    }
    expect(resolveDatabase(storage, undefined)).toMatchObject({ storage, databaseHandle: null })
  })

  it.each([['Auth_'], ['1auth'], ['auth-'], ['auth.'], ['auth_; drop'], [''], ['a'.repeat(25)]])(
    'refuses the table prefix %j, naming tablePrefix',
    (prefix) => {
      expect(configErrorOf(() => resolveDatabase('sqlite::memory:', prefix)).setting).toBe('tablePrefix')
    },
  )

  it('takes a prefix of 24 characters', () => {
    expect(resolveDatabase('sqlite::memory:', 'a'.repeat(24)).tablePrefix).toBe('a'.repeat(24))
  })

  it('refuses a prefix beside a ready Storage, which names its own tables', () => {
    const error = configErrorOf(() => resolveDatabase(storage, 'auth_'))
    expect(error.message).toMatch(/^tablePrefix: a ready Storage names its own tables/)
  })

  it('refuses handles it cannot share, naming database', () => {
    const client = { connect: async () => {}, query: async () => ({}) }
    expect(configErrorOf(() => resolveDatabase(client, undefined)).message).toMatch(/pass a pg\.Pool/)
    const memory = new Database(':memory:')
    expect(configErrorOf(() => resolveDatabase(memory, undefined)).message).toMatch(/in-memory/)
    memory.close()
    const dir = mkdtempSync(join(tmpdir(), 'tokenpair-option-'))
    const closed = new Database(join(dir, 'closed.db'))
    closed.close()
    expect(configErrorOf(() => resolveDatabase(closed, undefined)).message).toMatch(/Database is closed/)
    rmSync(dir, { recursive: true, force: true })
    expect(configErrorOf(() => resolveDatabase(42, undefined)).setting).toBe('database')
  })
})
