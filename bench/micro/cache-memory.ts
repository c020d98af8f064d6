import { randomUUID } from 'node:crypto'
import { createAuth } from '../../src/auth.js'
import { createAccessToken, verifyAccessToken } from '../../src/tokens/access-token.js'
import { KeyRing } from '../../src/tokens/keys.js'
import { getTokenCache } from '../../src/tokens/token-cache.js'

// What a full verified-token cache holds: heap and RSS before and after verifying more distinct
// tokens than the cache keeps. Run: node --expose-gc --import tsx bench/micro/cache-memory.ts
const COUNT = Number(process.argv[2] ?? '30000')
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
const auth = await createAuth({
  database: 'sqlite::memory:',
  secret: `micro-${randomUUID()}-${randomUUID()}`,
  rateLimit: false,
})
const keys = new KeyRing(auth.options, auth.storage)
await keys.load()
const now = Date.now()
const user = {
  id: randomUUID(),
  username: 'micro_user',
  email: 'micro_user@example.com',
  fullname: 'Micro User',
  passwordHash: 'unused',
  roles: ['user'],
  emailVerified: true,
  disabledAt: null,
  createdAt: now,
  updatedAt: now,
}
gc()
const before = process.memoryUsage()
for (let i = 0; i < COUNT; i++) {
  const token = (await createAccessToken(auth.options, keys, user, randomUUID())).token
  await verifyAccessToken(auth.options, keys, token)
}
gc()
const after = process.memoryUsage()
process.stdout.write(
  `cache entries ${getTokenCache(keys).size}; heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}; rss ${mb(before.rss)} -> ${mb(after.rss)}\n`,
)
await auth.close()
