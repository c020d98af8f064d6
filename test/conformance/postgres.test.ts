import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { openDatabaseHandle } from '../../src/storage/open-storage.js'
import { createPostgresStorage } from '../../src/storage/sql/postgres-storage.js'
import { describeStorageConformance } from '../../src/testing/conformance.js'
import { resetSQLStorage } from '../helpers/sql-reset.js'
import { createDatabaseOn, findTestServer, type TestDatabase } from '../helpers/test-database.js'

// A database of this file's own (created and dropped here), so that parallel files never meet.
const server = await findTestServer('postgres')
let database: TestDatabase
// A pool as an app makes it: pg's own type parsers (BIGINT as text), no listeners of ours.
let appPool: pg.Pool
beforeAll(async () => {
  if (!server) return
  database = await createDatabaseOn(server)
  appPool = new pg.Pool({ connectionString: database.url, max: 10 })
  // As pg asks of every app: end() resolves before the sockets close, and the drop's FORCE may
  // then end one, which the pool reports here rather than crash the process.
  appPool.on('error', () => {})
})
afterAll(async () => {
  await appPool?.end()
  await database?.drop()
})

describe.skipIf(server === null)('postgres', () => {
  describeStorageConformance('postgres', {
    create: () => createPostgresStorage({ url: database.url }),
    reset: resetSQLStorage,
  })

  // In the same database as the tables above, under another prefix, on the app's pool.
  describeStorageConformance("postgres (the app's pg.Pool, prefix app_auth_)", {
    create: () => openDatabaseHandle(appPool, { tablePrefix: 'app_auth_' }),
    reset: resetSQLStorage,
  })
})
