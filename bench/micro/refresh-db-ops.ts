import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { createAuth } from '../../src/auth.js'
import { createServerApp } from '../../src/server/app.js'
import { createBenchDatabase } from '../postgres.js'

// What one POST /auth/refresh costs PostgreSQL: transactions and rows, from pg_stat_database
// deltas over a chain of sequential refreshes on a database of its own.
// Run: node --import tsx bench/micro/refresh-db-ops.ts [count]
const COUNT = Number(process.argv[2] ?? '200')

const database = await createBenchDatabase()
const auth = await createAuth({
  database: database.url,
  secret: `micro-${randomUUID()}-${randomUUID()}`,
  rateLimit: false,
  cookieSecure: false,
})
const server = createServerApp(auth).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const headers = { 'content-type': 'application/json', 'x-auth-mode': 'bearer' }
const name = `ops_${Date.now().toString(36)}`
const registered = await fetch(`${base}/auth/register`, {
  method: 'POST',
  headers,
  body: JSON.stringify({
    username: name,
    email: `${name}@example.com`,
    fullname: 'Ops',
    password: 'correct horse battery staple',
  }),
})
let refreshToken = ((await registered.json()) as { data: { refreshToken: string } }).data.refreshToken

const stats = new pg.Client({ connectionString: database.url })
await stats.connect()
const dbName = new URL(database.url).pathname.slice(1)
async function readStats(): Promise<Record<string, number>> {
  const { rows } = await stats.query(
    'SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1',
    [dbName],
  )
  return Object.fromEntries(Object.entries(rows[0] as Record<string, string>).map(([k, v]) => [k, Number(v)]))
}
// Backends publish their counters about once a second when idle (PostgreSQL 15).
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500))
await settle()
const before = await readStats()
const start = performance.now()
for (let i = 0; i < COUNT; i++) {
  const res = await fetch(`${base}/auth/refresh`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ refreshToken }),
  })
  if (res.status !== 200) throw new Error(`refresh ${i} answered ${res.status}`)
  refreshToken = ((await res.json()) as { data: { refreshToken: string } }).data.refreshToken
}
const elapsed = performance.now() - start
await settle()
const after = await readStats()
process.stdout.write(`${COUNT} sequential refreshes, ${(elapsed / COUNT).toFixed(2)} ms each\n`)
for (const key of Object.keys(before)) {
  // The stats connection's own queries add one transaction per read; subtract it.
  const delta = after[key]! - before[key]! - (key === 'xact_commit' ? 1 : 0)
  process.stdout.write(`${key.padEnd(14)} ${(delta / COUNT).toFixed(2)} per refresh\n`)
}
await stats.end()
server.close()
await auth.close()
await database.drop()
