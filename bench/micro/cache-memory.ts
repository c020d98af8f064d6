import { verifyAccessToken } from '../../src/tokens/access-token.js'
import { getTokenCache } from '../../src/tokens/token-cache.js'
import { createMicroAuth } from './micro-auth.js'

// What a full verified-token cache holds: heap and RSS before and after verifying more distinct
// tokens than the cache keeps. Run: node --expose-gc --import tsx bench/micro/cache-memory.ts
const COUNT = Number(process.argv[2] ?? '30000')
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
const { auth, keys, signToken } = await createMicroAuth()
gc()
const before = process.memoryUsage()
for (let i = 0; i < COUNT; i++) {
  const token = await signToken()
  await verifyAccessToken(auth.options, keys, token)
}
gc()
const after = process.memoryUsage()
process.stdout.write(
  `cache entries ${getTokenCache(keys).size}; heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}; rss ${mb(before.rss)} -> ${mb(after.rss)}\n`,
)
await auth.close()
