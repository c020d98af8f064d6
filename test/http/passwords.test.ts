import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { PasswordCheckContext, PasswordValidator } from '../../src/config/app-options.js'
import { AuthError } from '../../src/errors.js'
import { newUser, registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* The rules of a new password (docs/security.md#passwords), through the real router on every
 * database: the common-password list, the account's own names, the app's `validatePassword`. */

const seen: PasswordCheckContext[] = []
/** What the app's rule answers in the current case; reset before each. */
let appRule: PasswordValidator = () => undefined

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({
    rateLimit: false,
    validatePassword: (password, context) => {
      seen.push(context)
      return appRule(password, context)
    },
  })
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  seen.length = 0
  appRule = () => undefined
})

const register = (body: Record<string, unknown>) =>
  request(`${server.url}/auth/register`, { body, headers: { 'x-auth-mode': 'bearer' } })

/** Whether `username` is still free: a refused registration must have written nothing. */
async function isFree(username: string): Promise<boolean> {
  return (await server.auth.storage.findUserByLogin(username)) === null
}

describe('registration', () => {
  it.each([
    ['password', 'password is one of the most common passwords; choose another'],
    ['123456789', 'password is one of the most common passwords; choose another'],
    // Compared case-insensitively and after NFKC: full-width letters are the same word.
    ['PassWord1', 'password is one of the most common passwords; choose another'],
    ['ｐａｓｓｗｏｒｄ', 'password is one of the most common passwords; choose another'],
  ])(
    'refuses the common password %j with validation_failed and a field message',
    async (password, message) => {
      const user = newUser({ password })
      const res = await register(user)
      expect([res.status, res.body.code]).toEqual([400, 'validation_failed'])
      expect(res.body.errors).toEqual([{ path: 'password', message }])
      expect(await isFree(user.username)).toBe(true)
    },
  )

  it('refuses the username, the email address and its local part as the password', async () => {
    const plain = newUser()
    const user = { ...plain, email: `box.${plain.username}@example.com` }
    const cases = [
      [user.username, 'password must not be the username'],
      [user.username.toUpperCase(), 'password must not be the username'],
      [user.email, 'password must not be the email address'],
      [user.email.split('@')[0]!, 'password must not be the email address'],
    ] as const
    for (const [password, message] of cases) {
      const res = await register({ ...user, password })
      expect([res.status, res.body.code, res.body.errors]).toEqual([
        400,
        'validation_failed',
        [{ path: 'password', message }],
      ])
    }
    expect(await isFree(user.username)).toBe(true)
    // The same account with a password of its own goes through.
    expect((await register(user)).status).toBe(201)
  })

  it("runs the app's rule after tokenpair's, with the account's names, and words its reason as a field message", async () => {
    appRule = (password) => (password.includes('shop') ? 'must not contain the name of the shop' : undefined)
    const user = newUser({ password: 'my shop is the best' })
    const refused = await register(user)
    expect([refused.status, refused.body.code, refused.body.errors]).toEqual([
      400,
      'validation_failed',
      [{ path: 'password', message: 'password must not contain the name of the shop' }],
    ])
    expect(seen).toEqual([{ username: user.username, email: user.email, reason: 'register' }])
    expect(await isFree(user.username)).toBe(true)
    // A common password is refused before the app's rule is asked.
    seen.length = 0
    await register(newUser({ password: 'password' }))
    expect(seen).toEqual([])
  })

  it("passes the app's refusal through, and answers 500 for a rule that returns nonsense", async () => {
    appRule = () => {
      throw new AuthError('forbidden', 'Registrations are closed')
    }
    const closed = await register(newUser())
    expect([closed.status, closed.body.code]).toEqual([403, 'forbidden'])
    appRule = () => 42 as unknown as string
    const broken = await register(newUser())
    expect([broken.status, broken.body.code]).toEqual([500, 'internal_error'])
  })
})

describe('POST /auth/change-password', () => {
  it('refuses a common new password or the username, before checking the current password', async () => {
    const user = await registerBearer(server.url)
    const change = (body: Record<string, unknown>) =>
      request(`${server.url}/auth/change-password`, {
        body,
        headers: { authorization: `Bearer ${user.accessToken}` },
      })
    const common = await change({ currentPassword: 'not even the right one', newPassword: 'iloveyou' })
    expect([common.status, common.body.errors]).toEqual([
      400,
      [{ path: 'newPassword', message: 'newPassword is one of the most common passwords; choose another' }],
    ])
    const own = await change({ currentPassword: user.password, newPassword: user.username })
    expect(own.body.errors).toEqual([
      { path: 'newPassword', message: 'newPassword must not be the username' },
    ])
    const fine = await change({ currentPassword: user.password, newPassword: 'a fresh passphrase here' })
    expect(fine.status).toBe(200)
    expect(seen.at(-1)).toEqual({ username: user.username, email: user.email, reason: 'change' })
  })
})
