import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node'
import Database from 'better-sqlite3'
import express from 'express'
import pg from 'pg'
import { serveBench } from './bench-server.js'

// better-auth on the same Express, as its docs show it. By default its own session check (a
// database read per request, no cookie cache) on SQLite through better-sqlite3.
// BENCH_BETTER_AUTH_UPDATE_AGE=0 makes every check also extend the session (a write per request:
// the nearest thing better-auth has to a refresh); BENCH_DATABASE_URL=postgres://… puts it on a pg
// pool instead. Its handler answers `POST /api/auth/sign-in/email`, the counterpart of a login.
const postgresUrl = process.env.BENCH_DATABASE_URL?.startsWith('postgres')
  ? process.env.BENCH_DATABASE_URL
  : null
const updateAge = process.env.BENCH_BETTER_AUTH_UPDATE_AGE
let database: Database.Database | pg.Pool
if (postgresUrl) {
  database = new pg.Pool({ connectionString: postgresUrl, max: 10 })
} else {
  const file = join(tmpdir(), `better-auth-bench-${randomUUID()}.db`)
  database = new Database(file)
  database.pragma('journal_mode = WAL')
  process.on('exit', () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
  })
}
const options = {
  database,
  secret: `bench-${randomUUID()}-${randomUUID()}`,
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  logger: { disabled: true },
  ...(updateAge === undefined ? {} : { session: { updateAge: Number(updateAge) } }),
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
app.all('/api/auth/*splat', toNodeHandler(auth))

const password = 'correct horse battery staple'
let users = 0
async function signUp(): Promise<{ email: string; cookie: string }> {
  users++
  const email = `bench${users}-${process.pid}@example.com`
  const response = await auth.api.signUpEmail({
    body: { email, password, name: 'Bench User' },
    asResponse: true,
  })
  const cookies = response.headers.getSetCookie().map((line) => line.split(';')[0]!)
  if (!response.ok || cookies.length === 0) throw new Error(`better-auth sign-up failed: ${response.status}`)
  return { email, cookie: cookies.join('; ') }
}

await serveBench(app, {
  credential: async () => ({ header: 'cookie', value: (await signUp()).cookie }),
  loginBody: async () => ({ email: (await signUp()).email, password }),
})
