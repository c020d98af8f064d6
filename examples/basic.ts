// The README's example: tokenpair in an Express app of one's own. Run: npx tsx examples/basic.ts
import express from 'express'
import { createAuth } from 'tokenpair'

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET ?? 'dev-only-secret-change-me-0123456789abcdef',
  cookieSecure: process.env.NODE_ENV === 'production',
})

const app = express()
app.use('/auth', auth.router()) // register, login, refresh, logout, sessions, …
app.get('/.well-known/jwks.json', auth.jwks()) // public keys for your other services

app.get('/api/notes', auth.requireAuth(), (req, res) => {
  res.json({ owner: req.auth!.claims.username, notes: [] })
})
app.delete('/api/users/:id', auth.requireAuth({ roles: ['admin'] }), (req, res) => {
  res.json({ deleted: req.params.id })
})

app.listen(3000, () => console.log('http://127.0.0.1:3000'))
