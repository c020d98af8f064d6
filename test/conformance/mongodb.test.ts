import { randomBytes } from 'node:crypto'
import { afterAll, describe } from 'vitest'
import { createMongoDBStorage, MongoDBStorage } from '../../src/storage/mongodb/mongodb-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { describeStorageConformance } from '../../src/testing/conformance.js'

// No MongoDB server can be installed on our machines: this file runs only where MONGODB_URL names
// one (CI included), on a database of its own that it drops at the end.
const url = process.env.MONGODB_URL
if (!url) process.stderr.write('skipping mongodb tests: MONGODB_URL is not set\n')
const database = `tp_${randomBytes(6).toString('hex')}`
// The sweep case creates sessions that died weeks ago; a long retention keeps MongoDB's own TTL
// monitor from deleting them before deleteExpired counts them.
const create = () => createMongoDBStorage({ url: url ?? '', database, expiredRetentionMs: 365 * 86_400_000 })

async function reset(storage: Storage): Promise<void> {
  if (!(storage instanceof MongoDBStorage)) throw new TypeError('reset needs a MongoDBStorage')
  for (const collection of await storage.db.collections()) await collection.deleteMany({})
}

afterAll(async () => {
  if (!url) return
  const storage = await create()
  try {
    await storage.db.dropDatabase()
  } finally {
    await storage.close()
  }
})

describe.skipIf(!url)('mongodb', () => {
  describeStorageConformance('mongodb', { create, reset })
})
