// docs/embedding.md, "Server-side API": the app's own admin pages on auth.users and auth.sessions,
// without an HTTP round trip. None of these calls checks who asks: requireAuth({ roles }) does.
import express from 'express'
import { createAuth } from 'tokenpair'

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET!, // 32+ characters
})

// A first administrator, once: under the password rules of registration.
if (!(await auth.users.find('admin'))) {
  await auth.users.create({
    username: 'admin',
    email: 'admin@example.com',
    password: process.env.ADMIN_PASSWORD!,
    roles: ['user', 'admin'],
    emailVerified: true,
  })
}

const admin = express.Router()
admin.use(auth.requireAuth({ roles: ['admin'] }))
admin.get('/users', async (req, res) => {
  res.json(await auth.users.list({ limit: 50, offset: Number(req.query.offset ?? 0) }))
})
admin.post('/users/:id/disable', async (req, res) => {
  res.json(await auth.users.disable(req.params.id)) // { revokedSessions }; not_found → 404
})
admin.put('/users/:id/roles', async (req, res) => {
  res.json(await auth.users.setRoles(req.params.id, req.body.roles)) // in tokens from the next refresh
})
admin.get('/users/:id/sessions', async (req, res) => {
  res.json(await auth.sessions.list(req.params.id))
})
admin.delete('/sessions/:id', async (req, res) => {
  res.json({ revoked: await auth.sessions.revoke(req.params.id) })
})

const app = express()
app.use(express.json())
app.use('/auth', auth.router())
app.use('/admin', admin)
app.use(auth.errorHandler()) // AuthError in the envelope: 404 not_found, 400 validation_failed
app.listen(Number(process.env.PORT ?? 3000))
