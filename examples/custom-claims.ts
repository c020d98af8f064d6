// docs/embedding.md, "Custom claims": the app's own claims in every access token, read fresh from
// the user at each login and refresh, and read back typed in a route.
import express from 'express'
import { createAuth } from 'tokenpair'

/** The app's own tables, here a map: which tenant a user belongs to. */
const tenantOfUser = new Map<string, string>()

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET!, // 32+ characters
  // Called at registration, at each login and at each refresh; its type types readAuth's claims.
  claims: async ({ user, reason }) => ({
    tenant: tenantOfUser.get(user.id) ?? 'personal',
    fresh: reason !== 'refresh', // a token straight from a password, not from a refresh
  }),
})

const app = express()
app.use('/auth', auth.router())
app.get('/.well-known/jwks.json', auth.jwks()) // other services verify the claims with these keys
app.get('/api/projects', auth.requireAuth(), (req, res) => {
  const { userId, claims } = auth.readAuth(req) // claims.tenant: string, claims.fresh: boolean
  res.json({ owner: userId, tenant: claims.tenant, projects: [] })
})
app.post('/api/tenants/:tenant/join', auth.requireAuth(), (req, res) => {
  tenantOfUser.set(auth.readAuth(req).userId, String(req.params.tenant))
  // The current access token keeps its claims until it is refreshed: the client refreshes now.
  res.json({ refresh: true })
})
app.use(auth.errorHandler())
app.listen(Number(process.env.PORT ?? 3000))
