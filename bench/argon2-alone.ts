import { hashPassword, verifyPassword } from '../src/users/passwords.js'

// How many argon2id verifications per second this machine does with nothing else running: the
// ceiling that POST /auth/login is measured against. Same settings as the server (passwords.ts).
const seconds = Number(process.argv[2] ?? '5')
const width = Number(process.argv[3] ?? '8')
const password = 'correct horse battery staple'
const hash = await hashPassword(password)
let done = 0
const start = performance.now()
const end = start + seconds * 1000
await Promise.all(
  Array.from({ length: width }, async () => {
    while (performance.now() < end) {
      if (!(await verifyPassword(hash, password))) throw new Error('verification failed')
      done++
    }
  }),
)
const elapsed = (performance.now() - start) / 1000
process.stdout.write(`${JSON.stringify({ perSecond: done / elapsed, done, elapsed })}\n`)
