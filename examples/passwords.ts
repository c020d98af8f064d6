// docs/embedding.md, "Passwords": the app's own rule for new passwords, after tokenpair's length,
// common-password and own-name checks.
import express from 'express'
import { AuthError, createAuth } from 'tokenpair'

const SHOP = 'brightbikes'

const auth = await createAuth({
  database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
  secret: process.env.AUTH_SECRET!, // 32+ characters
  // Runs at registration, password change, reset and auth.users.create, once tokenpair's rules pass.
  validatePassword: async (password, { username, reason }) => {
    if (process.env.REGISTRATION_CLOSED && reason === 'register') {
      throw new AuthError('forbidden', 'Registration is closed') // 403 forbidden, as a hook refuses
    }
    // Returned reasons follow the field's name: "password must not contain the name of the shop".
    if (password.toLowerCase().includes(SHOP)) return 'must not contain the name of the shop'
    if (password.toLowerCase().includes(username)) return 'must not contain the username'
    return undefined // accepted
  },
})

const app = express()
app.use('/auth', auth.router())
app.listen(Number(process.env.PORT ?? 3000))

// POST /auth/register { …, "password": "BrightBikes2026!" } is answered
// 400 { "code": "validation_failed", "errors": [{ "path": "password",
//       "message": "password must not contain the name of the shop" }], … }
// and POST /auth/change-password names its field: "newPassword must not contain …".
