import { hashPassword, verifyPassword } from '../../src/users/passwords.js'

// RSS before and after argon2id verifications run in parallel (19 MiB each, on libuv's threads):
// shows how much of a server's RSS the login path leaves behind.
// Run: node --import tsx bench/micro/argon2-rss.ts [in flight] [count]
const width = Number(process.argv[2] ?? '8')
const count = Number(process.argv[3] ?? '64')
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`
const hash = await hashPassword('correct horse battery staple')
const before = process.memoryUsage().rss
let next = 0
await Promise.all(
  Array.from({ length: width }, async () => {
    while (next++ < count) await verifyPassword(hash, 'correct horse battery staple')
  }),
)
process.stdout.write(
  `rss before ${mb(before)}, after ${count} verifications ${width} at a time: ${mb(process.memoryUsage().rss)}\n`,
)
