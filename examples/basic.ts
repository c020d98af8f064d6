// The README's example (app.ts): tokenpair in an Express app of one's own. test/package/readme-app.test.ts
// checks that this file and the README agree.
import express from 'express'
import { createAuth } from 'tokenpair'

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/tokenpair.db', // or postgres://…, mysql://…, mongodb://…
  secret: process.env.AUTH_SECRET!, // 32+ characters: seals keys at rest
})

const app = express()
app.use('/auth', auth.router()) // register, login, refresh, logout, sessions, mail flows…
app.use(auth.pages()) // /verify-email and /reset-password, the pages the mails link to
app.get('/.well-known/jwks.json', auth.jwks()) // public keys, for your other services

app.get('/api/notes', auth.requireAuth(), (req, res) => {
  res.json({ owner: req.auth!.userId, notes: [] }) // req.auth = { userId, sessionId, claims }
})
app.delete('/api/users/:id', auth.requireAuth({ roles: ['admin'] }), (req, res) => {
  res.json({ deleted: req.params.id })
})
app.post('/api/transfer', auth.requireAuth({ verifiedEmail: true }), (_req, res) => {
  res.json({ ok: true }) // requireAuth refuses revoked sessions; this route unverified addresses too
})
app.listen(Number(process.env.PORT ?? 3000))
