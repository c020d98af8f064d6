// docs/embedding.md, "Your own database handle": tokenpair in the app's own PostgreSQL database, on
// the app's pool, its tables under a prefix of their own beside the app's tables.
import express from 'express'
import pg from 'pg'
import { createAuth } from 'tokenpair'

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? 'postgres://localhost/app',
  max: 20,
})
pool.on('error', (error) => console.error('an idle database connection failed', error)) // as pg asks of every app

await pool.query(
  'create table if not exists notes (id serial primary key, owner_id text not null, body text)',
)

const auth = await createAuth({
  database: pool, // or a mysql2 pool, a better-sqlite3 Database, a Kysely instance
  tablePrefix: 'auth_', // auth_users, auth_sessions, … (default tp_)
  secret: process.env.AUTH_SECRET!, // 32+ characters
})

const app = express()
app.use(express.json())
app.use('/auth', auth.router())
app.get('/api/notes', auth.requireAuth(), async (req, res) => {
  const { rows } = await pool.query('select id, body from notes where owner_id = $1', [req.auth!.userId])
  res.json({ notes: rows })
})
app.post('/api/notes', auth.requireAuth(), async (req, res) => {
  const { rows } = await pool.query('insert into notes (owner_id, body) values ($1, $2) returning id', [
    req.auth!.userId,
    String(req.body?.body ?? ''),
  ])
  res.status(201).json({ id: rows[0].id })
})
const server = app.listen(Number(process.env.PORT ?? 3000))

process.once('SIGTERM', () => {
  server.close(async () => {
    await auth.close() // stops tokenpair's timers; the pool stays open: it is the app's
    await pool.end()
  })
})
