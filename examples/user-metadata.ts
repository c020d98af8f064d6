// docs/embedding.md, "User metadata": the app's own data on each user, under its zod schema; the
// user writes `theme` (PATCH /auth/me), only the app writes `plan`.
import express from 'express'
import { createAuth } from 'tokenpair'
import { z } from 'zod'

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET!, // 32+ characters
  metadata: {
    schema: z.object({
      plan: z.enum(['free', 'pro']).default('free'), // a new user gets { plan: 'free' }
      theme: z.enum(['light', 'dark']).optional(),
      stripeCustomer: z.string().optional(), // readable by the user in GET /auth/me: no secrets
    }),
    userWritable: ['theme'],
  },
})

const app = express()
app.use(express.json())
app.use('/auth', auth.router()) // GET /auth/me shows metadata; PATCH /auth/me { metadata: { theme } }
app.get('/api/reports', auth.requireAuth(), async (req, res) => {
  const user = await auth.users.find(auth.readAuth(req).userId)
  if (user?.metadata.plan !== 'pro') {
    res.status(402).json({ message: 'Reports come with the pro plan' })
    return
  }
  res.json({ reports: [] })
})
// The payment provider's webhook (its signature check left out here): the app writes any field.
app.post('/webhooks/paid', async (req, res) => {
  const user = await auth.users.find(String(req.body?.userId))
  if (!user) {
    res.sendStatus(404)
    return
  }
  // update replaces the metadata whole: spread what stays.
  await auth.users.update(user.id, { metadata: { ...user.metadata, plan: 'pro' } })
  res.sendStatus(204)
})
app.use(auth.errorHandler()) // a ValidationError of update: 400 validation_failed
app.listen(Number(process.env.PORT ?? 3000))
