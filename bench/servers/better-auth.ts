import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { fromNodeHeaders } from 'better-auth/node'
import Database from 'better-sqlite3'
import express from 'express'
import { serveBench } from './bench-server.js'

// better-auth's own session check (its default: a database read per request, no cookie cache) on
// the same Express, with SQLite through better-sqlite3 as its docs show.
const file = join(tmpdir(), `better-auth-bench-${randomUUID()}.db`)
const database = new Database(file)
process.on('exit', () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
})
database.pragma('journal_mode = WAL')
const options = {
  database,
  secret: `bench-${randomUUID()}-${randomUUID()}`,
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  logger: { disabled: true },
}
const { runMigrations } = await getMigrations(options)
await runMigrations()
const auth = betterAuth(options)

const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get('/api/protected', async (req, res) => {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) })
  if (!session) {
    res.status(401).json({ error: 'unauthorized' })
    return
  }
  res.json({ user: session.user.id })
})

let users = 0
async function signUp(): Promise<string> {
  users++
  const response = await auth.api.signUpEmail({
    body: {
      email: `bench${users}@example.com`,
      password: 'correct horse battery staple',
      name: 'Bench User',
    },
    asResponse: true,
  })
  const cookies = response.headers.getSetCookie().map((line) => line.split(';')[0]!)
  if (!response.ok || cookies.length === 0) throw new Error(`better-auth sign-up failed: ${response.status}`)
  return cookies.join('; ')
}

await serveBench(app, {
  credential: async () => ({ header: 'cookie', value: await signUp() }),
})
