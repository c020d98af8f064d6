import { afterAll, beforeAll, describe } from 'vitest'
import { createMySQLStorage } from '../../src/storage/sql/mysql-storage.js'
import { describeStorageConformance } from '../../src/testing/conformance.js'
import { resetSQLStorage } from '../helpers/sql-reset.js'
import { createDatabaseOn, findTestServer, type TestDatabase } from '../helpers/test-database.js'

// A database of this file's own (created and dropped here), so that parallel files never meet.
const server = await findTestServer('mysql')
let database: TestDatabase
beforeAll(async () => {
  if (server) database = await createDatabaseOn(server)
})
afterAll(async () => {
  await database?.drop()
})

describe.skipIf(server === null)('mysql (MariaDB)', () => {
  describeStorageConformance('mysql (MariaDB)', {
    create: () => createMySQLStorage({ url: database.url }),
    reset: resetSQLStorage,
  })
})
