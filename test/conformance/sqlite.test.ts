import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { createSQLiteStorage } from '../../src/storage/sql/sqlite-storage.js'
import { describeStorageConformance } from '../../src/testing/conformance.js'
import { resetSQLStorage } from '../helpers/sql-reset.js'

describeStorageConformance('sqlite (memory)', {
  create: () => createSQLiteStorage({ path: ':memory:' }),
})

// One file shared by several connections: the race then runs across connections, as across processes.
const dir = mkdtempSync(join(tmpdir(), 'tokenpair-conformance-'))
describeStorageConformance('sqlite (file, WAL)', {
  create: () => createSQLiteStorage({ path: join(dir, 'conformance.db') }),
  reset: resetSQLStorage,
})

// The same file under another prefix: its tables, indexes and migrations beside those above.
describeStorageConformance('sqlite (file, WAL, prefix x_)', {
  create: () => createSQLiteStorage({ path: join(dir, 'conformance.db'), tablePrefix: 'x_' }),
  reset: resetSQLStorage,
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
