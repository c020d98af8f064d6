// docs/embedding.md, "Hooks": the app's say in registration and login. A `before*` hook refuses by
// throwing; an `after*` hook runs once the user or session is written.
import express from 'express'
import { AuthError, createAuth, ValidationError } from 'tokenpair'

const onHold = new Set<string>() // user ids the app's support team has put on hold
const lastLogin = new Map<string, Date>()

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET!, // 32+ characters
  hooks: {
    beforeRegister: ({ input, source }) => {
      if (!input.email.endsWith('@example.com')) {
        // 400 validation_failed, with this field problem in `errors`.
        throw new ValidationError([{ path: 'email', message: 'email must be an address of example.com' }])
      }
      // A first sign-in with a provider brings the provider's name; a form's may be the username.
      if (source === 'password' && input.fullname === input.username) return { fullname: 'New colleague' }
    },
    beforeSessionCreate: ({ user }) => {
      // 403 forbidden, with this message; no session opens.
      if (onHold.has(user.id)) throw new AuthError('forbidden', 'This account is on hold; call support')
    },
    afterRegister: async ({ user }) => {
      console.log(`welcome ${user.username}`) // the app's welcome mail, CRM record, …
    },
    afterLogin: ({ user, client }) => {
      lastLogin.set(user.id, new Date()) // what this throws is logged; the login stands
      console.log(`login of ${user.username} from ${client.ip ?? 'an unknown address'}`)
    },
  },
})

const app = express()
app.use('/auth', auth.router())
app.get('/api/last-login', auth.requireAuth(), (req, res) => {
  res.json({ at: lastLogin.get(auth.readAuth(req).userId) ?? null })
})
app.listen(Number(process.env.PORT ?? 3000))
