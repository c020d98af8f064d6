import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { newUser, request } from '../helpers/http.js'
import {
  type MailTestServer,
  readLink,
  type SMTPPeer,
  startMailTestServer,
  startSMTPPeer,
} from './mail-test-kit.js'

/* Verification, password reset and profile changes, end to end: the real app over a real socket,
 * mail delivered over SMTP to a real `smtp-server` on loopback, links read from the delivered
 * message and followed. */

let peer: SMTPPeer
let srv: MailTestServer
/** Every token seen in a mail: none may appear in the log (checked last). */
const seenSecrets: string[] = []

const FROM = 'Tokenpair Tests <auth@tokenpair.test>'

beforeAll(async () => {
  peer = await startSMTPPeer()
  srv = await startMailTestServer({
    mail: { smtpUrl: peer.url, from: FROM, retryDelay: 20 },
    rateLimit: { register: false, resetRequestIp: '50/1h' },
  })
})

afterAll(async () => {
  await srv?.close()
  await peer?.close()
})

afterEach(() => {
  vi.useRealTimers()
})

async function register(overrides: Record<string, unknown> = {}) {
  const body = newUser(overrides)
  const res = await request<{
    accessToken: string
    refreshToken: string
    user: { id: string; emailVerified: boolean }
  }>(`${srv.url}/auth/register`, { body, headers: { 'x-auth-mode': 'bearer' } })
  expect(res.status).toBe(201)
  return { ...body, ...res.body.data }
}

async function linkOf(address: string, page: 'verify-email' | 'reset-password') {
  const mail = await peer.nextMail(address)
  const found = readLink(mail, page)
  seenSecrets.push(found.token, found.link)
  return { mail, ...found }
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` }
}

describe('email verification', () => {
  it('mails a link on registration that verifies the address once', async () => {
    const user = await register({ fullname: 'Ann <b>Bold</b>' })
    expect(user.user.emailVerified).toBe(false)
    const { mail, link, token } = await linkOf(user.email, 'verify-email')
    expect(link).toBe(`${srv.url}/verify-email?token=${token}`)
    expect(token.length).toBeGreaterThanOrEqual(43) // 32 random bytes in base64url
    expect(mail.envelopeFrom).toBe('auth@tokenpair.test')
    expect(mail.from).toContain('auth@tokenpair.test')
    expect(mail.to).toEqual([user.email])
    expect(mail.html).toContain(`href="${link}"`)
    // The user's name is text in the HTML body, never markup.
    expect(mail.html).toContain('Ann &lt;b&gt;Bold&lt;/b&gt;')
    expect(mail.html).not.toContain('<b>Bold</b>')

    const verified = await request<{ emailVerified: boolean; email: string }>(
      `${srv.url}/auth/email/verify`,
      {
        body: { token },
      },
    )
    expect(verified.status).toBe(200)
    expect(verified.body.data.emailVerified).toBe(true)
    const me = await request<{ emailVerified: boolean }>(`${srv.url}/auth/me`, {
      headers: bearer(user.accessToken),
    })
    expect(me.body.data.emailVerified).toBe(true)

    const again = await request(`${srv.url}/auth/email/verify`, { body: { token } })
    expect(again.status).toBe(400)
    expect(again.body.code).toBe('invalid_email_token')
  })

  it('refuses unknown, malformed and missing tokens', async () => {
    const unknown = await request(`${srv.url}/auth/email/verify`, { body: { token: 'A'.repeat(43) } })
    expect([unknown.status, unknown.body.code]).toEqual([400, 'invalid_email_token'])
    const missing = await request(`${srv.url}/auth/email/verify`, { body: {} })
    expect([missing.status, missing.body.code]).toEqual([400, 'validation_failed'])
    expect(missing.body.errors?.[0]?.path).toBe('token')
    const huge = await request(`${srv.url}/auth/email/verify`, { body: { token: 'x'.repeat(600) } })
    expect([huge.status, huge.body.code]).toEqual([400, 'validation_failed'])
  })

  it('requireAuth({ verifiedEmail: true }) refuses until verified, passes after a refresh', async () => {
    const user = await register()
    const before = await request(`${srv.url}/api/verified`, { headers: bearer(user.accessToken) })
    expect([before.status, before.body.code]).toEqual([403, 'email_unverified'])
    const { token } = await linkOf(user.email, 'verify-email')
    expect((await request(`${srv.url}/auth/email/verify`, { body: { token } })).status).toBe(200)
    // The old access token still says unverified: the claim is fixed when the token is signed.
    const stale = await request(`${srv.url}/api/verified`, { headers: bearer(user.accessToken) })
    expect(stale.status).toBe(403)
    const refreshed = await request<{ accessToken: string }>(`${srv.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(refreshed.status).toBe(200)
    const after = await request<{ userId: string }>(`${srv.url}/api/verified`, {
      headers: bearer(refreshed.body.data.accessToken),
    })
    expect(after.status).toBe(200)
    expect((after.body as unknown as { userId: string }).userId).toBe(user.user.id)
  })

  it('mails a new link on request, which supersedes the old one', async () => {
    const user = await register()
    const first = await linkOf(user.email, 'verify-email')
    const noToken = await request(`${srv.url}/auth/email/verify/request`, { method: 'POST' })
    expect([noToken.status, noToken.body.code]).toEqual([401, 'missing_token'])
    const asked = await request(`${srv.url}/auth/email/verify/request`, {
      method: 'POST',
      headers: bearer(user.accessToken),
    })
    expect(asked.status).toBe(200)
    const second = await linkOf(user.email, 'verify-email')
    expect(second.token).not.toBe(first.token)
    const old = await request(`${srv.url}/auth/email/verify`, { body: { token: first.token } })
    expect(old.body.code).toBe('invalid_email_token')
    expect((await request(`${srv.url}/auth/email/verify`, { body: { token: second.token } })).status).toBe(
      200,
    )

    // Verified: a further request answers 200 and mails nothing.
    const count = peer.mails.length
    const done = await request(`${srv.url}/auth/email/verify/request`, {
      method: 'POST',
      headers: bearer(user.accessToken),
    })
    expect(done.status).toBe(200)
    await srv.auth.flushMail()
    expect(peer.mails.length).toBe(count)
  })

  it('sends at most RATE_LIMIT_VERIFY_ADDRESS verification mails to one address, and still answers 200', async () => {
    const limited = await startMailTestServer({
      mail: { smtpUrl: peer.url, from: FROM, retryDelay: 20 },
      rateLimit: { register: false, verifyMailAddress: '2/1h' },
    })
    try {
      const body = newUser()
      const res = await request<{ accessToken: string }>(`${limited.url}/auth/register`, {
        body,
        headers: { 'x-auth-mode': 'bearer' },
      })
      expect(res.status).toBe(201)
      for (let i = 0; i < 3; i++) {
        const asked = await request(`${limited.url}/auth/email/verify/request`, {
          method: 'POST',
          headers: bearer(res.body.data.accessToken),
        })
        expect(asked.status).toBe(200)
        await limited.auth.flushMail()
      }
      expect(peer.mails.filter((m) => m.to.includes(body.email))).toHaveLength(2)
      expect(limited.logger.lines.some((l) => l.msg?.includes('too many'))).toBe(true)
    } finally {
      await limited.close()
    }
  })

  it('honours a verification link once under parallel use', async () => {
    const user = await register()
    const { token } = await linkOf(user.email, 'verify-email')
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => request(`${srv.url}/auth/email/verify`, { body: { token } })),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    expect(answers.filter((a) => a.body.code === 'invalid_email_token')).toHaveLength(7)
  })

  it('expires a verification link after EMAIL_VERIFY_TTL (24 h)', async () => {
    const early = await register()
    const late = await register()
    const a = await linkOf(early.email, 'verify-email')
    const b = await linkOf(late.email, 'verify-email')
    const now = Date.now()
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(now + 24 * 3600_000 - 60_000)
    expect((await request(`${srv.url}/auth/email/verify`, { body: { token: a.token } })).status).toBe(200)
    vi.setSystemTime(now + 24 * 3600_000 + 60_000)
    const expired = await request(`${srv.url}/auth/email/verify`, { body: { token: b.token } })
    expect([expired.status, expired.body.code]).toEqual([400, 'invalid_email_token'])
  })
})

describe('password reset', () => {
  it('answers the same for a known and an unknown address, and mails only the known one', async () => {
    const user = await register()
    await linkOf(user.email, 'verify-email')
    const known = await request(`${srv.url}/auth/password/reset/request`, {
      body: { email: user.email.toUpperCase() },
    })
    const unknown = await request(`${srv.url}/auth/password/reset/request`, {
      body: { email: `nobody-${user.username}@example.com` },
    })
    expect(known.status).toBe(200)
    expect(unknown.status).toBe(200)
    expect(unknown.body).toEqual(known.body)
    const { mail } = await linkOf(user.email, 'reset-password')
    expect(mail.subject).toMatch(/reset/i)
    await srv.auth.flushMail()
    expect(peer.mails.some((m) => m.to.includes(`nobody-${user.username}@example.com`))).toBe(false)
  })

  it('sets the password, marks the address verified and revokes every session; once', async () => {
    const user = await register()
    await linkOf(user.email, 'verify-email')
    const login = await request<{ refreshToken: string }>(`${srv.url}/auth/login`, {
      body: { login: user.username, password: user.password },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(login.status).toBe(200)
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const { token, link } = await linkOf(user.email, 'reset-password')
    expect(link).toBe(`${srv.url}/reset-password?token=${token}`)

    const newPassword = 'a brand new passphrase'
    const reset = await request(`${srv.url}/auth/password/reset`, { body: { token, newPassword } })
    expect(reset.status).toBe(200)

    for (const refreshToken of [user.refreshToken, login.body.data.refreshToken]) {
      const refreshed = await request(`${srv.url}/auth/refresh`, { body: { refreshToken } })
      expect([refreshed.status, refreshed.body.code]).toEqual([401, 'invalid_refresh_token'])
    }
    const oldLogin = await request(`${srv.url}/auth/login`, {
      body: { login: user.username, password: user.password },
    })
    expect(oldLogin.status).toBe(401)
    const newLogin = await request<{ user: { emailVerified: boolean } }>(`${srv.url}/auth/login`, {
      body: { login: user.username, password: newPassword },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(newLogin.status).toBe(200)
    expect(newLogin.body.data.user.emailVerified).toBe(true)

    const twice = await request(`${srv.url}/auth/password/reset`, {
      body: { token, newPassword: 'yet another one!' },
    })
    expect([twice.status, twice.body.code]).toEqual([400, 'invalid_reset_token'])
  })

  it('refuses unknown tokens, verification tokens and bad passwords', async () => {
    const user = await register()
    const verify = await linkOf(user.email, 'verify-email')
    const unknown = await request(`${srv.url}/auth/password/reset`, {
      body: { token: 'B'.repeat(43), newPassword: 'long enough password' },
    })
    expect([unknown.status, unknown.body.code]).toEqual([400, 'invalid_reset_token'])
    // A token of one purpose is never valid for another.
    const crossed = await request(`${srv.url}/auth/password/reset`, {
      body: { token: verify.token, newPassword: 'long enough password' },
    })
    expect([crossed.status, crossed.body.code]).toEqual([400, 'invalid_reset_token'])
    const short = await request(`${srv.url}/auth/password/reset`, {
      body: { token: verify.token, newPassword: 'short' },
    })
    expect([short.status, short.body.code]).toEqual([400, 'validation_failed'])
    expect(short.body.errors?.[0]?.path).toBe('newPassword')
    const badAddress = await request(`${srv.url}/auth/password/reset/request`, {
      body: { email: 'not-an-address' },
    })
    expect([badAddress.status, badAddress.body.code]).toEqual([400, 'validation_failed'])
  })

  it('refuses a common password or the username as the new one without spending the link', async () => {
    const user = await register()
    await linkOf(user.email, 'verify-email')
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const { token } = await linkOf(user.email, 'reset-password')
    const common = await request(`${srv.url}/auth/password/reset`, {
      body: { token, newPassword: 'Password1' },
    })
    expect([common.status, common.body.code]).toEqual([400, 'validation_failed'])
    expect(common.body.errors).toEqual([
      { path: 'newPassword', message: 'newPassword is one of the most common passwords; choose another' },
    ])
    const own = await request(`${srv.url}/auth/password/reset`, {
      body: { token, newPassword: user.username.toUpperCase() },
    })
    expect(own.body.errors).toEqual([
      { path: 'newPassword', message: 'newPassword must not be the username' },
    ])
    // The link still works: the refusals spent nothing.
    const reset = await request(`${srv.url}/auth/password/reset`, {
      body: { token, newPassword: 'a passphrase of my own' },
    })
    expect(reset.status).toBe(200)
    const login = await request(`${srv.url}/auth/login`, {
      body: { login: user.username, password: 'a passphrase of my own' },
    })
    expect(login.status).toBe(200)
  })

  it('honours a reset link once under parallel use', async () => {
    const user = await register()
    await linkOf(user.email, 'verify-email')
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const { token } = await linkOf(user.email, 'reset-password')
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(`${srv.url}/auth/password/reset`, { body: { token, newPassword: `parallel password ${i}` } }),
      ),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    expect(answers.filter((a) => a.body.code === 'invalid_reset_token')).toHaveLength(7)
  })

  it('expires a reset link after PASSWORD_RESET_TTL (1 h)', async () => {
    const early = await register()
    const late = await register()
    for (const u of [early, late]) {
      await linkOf(u.email, 'verify-email')
      await request(`${srv.url}/auth/password/reset/request`, { body: { email: u.email } })
    }
    const a = await linkOf(early.email, 'reset-password')
    const b = await linkOf(late.email, 'reset-password')
    const now = Date.now()
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(now + 3600_000 - 60_000)
    const inTime = await request(`${srv.url}/auth/password/reset`, {
      body: { token: a.token, newPassword: 'still in time, this one' },
    })
    expect(inTime.status).toBe(200)
    vi.setSystemTime(now + 3600_000 + 60_000)
    const expired = await request(`${srv.url}/auth/password/reset`, {
      body: { token: b.token, newPassword: 'too late for this one' },
    })
    expect([expired.status, expired.body.code]).toEqual([400, 'invalid_reset_token'])
  })
})

describe('PATCH /auth/me', () => {
  it('changes the name, and an address change unverifies it and mails the new one', async () => {
    const user = await register()
    const oldLink = await linkOf(user.email, 'verify-email')
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const oldReset = await linkOf(user.email, 'reset-password')
    const renamed = await request<{ fullname: string; emailVerified: boolean }>(`${srv.url}/auth/me`, {
      method: 'PATCH',
      body: { fullname: '  New Name  ' },
      headers: bearer(user.accessToken),
    })
    expect(renamed.status).toBe(200)
    expect(renamed.body.data.fullname).toBe('New Name')

    const newEmail = `moved-${user.username}@example.org`
    const moved = await request<{ email: string; emailVerified: boolean }>(`${srv.url}/auth/me`, {
      method: 'PATCH',
      body: { email: ` ${newEmail.toUpperCase()} `, currentPassword: user.password },
      headers: bearer(user.accessToken),
    })
    expect(moved.status).toBe(200)
    expect(moved.body.data.email).toBe(newEmail)
    expect(moved.body.data.emailVerified).toBe(false)
    const fresh = await linkOf(newEmail, 'verify-email')
    // The link mailed to the old address verifies nothing now.
    const stale = await request(`${srv.url}/auth/email/verify`, { body: { token: oldLink.token } })
    expect(stale.body.code).toBe('invalid_email_token')
    // Nor does a reset link mailed to the old address: it went to someone who may no longer own the account.
    const staleReset = await request(`${srv.url}/auth/password/reset`, {
      body: { token: oldReset.token, newPassword: 'taken over, hopefully not' },
    })
    expect([staleReset.status, staleReset.body.code]).toEqual([400, 'invalid_reset_token'])
    const ok = await request<{ email: string; emailVerified: boolean }>(`${srv.url}/auth/email/verify`, {
      body: { token: fresh.token },
    })
    expect(ok.status).toBe(200)
    expect(ok.body.data).toMatchObject({ email: newEmail, emailVerified: true })
  })

  it('answers 409 email_taken for an address in use, and refuses bad input', async () => {
    const a = await register()
    const b = await register()
    const taken = await request(`${srv.url}/auth/me`, {
      method: 'PATCH',
      body: { email: a.email, currentPassword: b.password },
      headers: bearer(b.accessToken),
    })
    expect([taken.status, taken.body.code]).toEqual([409, 'email_taken'])
    const cases: [unknown, string][] = [
      [{}, ''],
      [{ email: 'nope' }, 'email'],
      [{ fullname: '   ' }, 'fullname'],
      [{ fullname: 'x'.repeat(101) }, 'fullname'],
      [{ username: 'renamed' }, ''],
      [{ roles: ['admin'] }, ''],
    ]
    for (const [body, path] of cases) {
      const res = await request(`${srv.url}/auth/me`, {
        method: 'PATCH',
        body,
        headers: bearer(b.accessToken),
      })
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([400, 'validation_failed'])
      if (path) expect(res.body.errors?.[0]?.path).toBe(path)
    }
    const anonymous = await request(`${srv.url}/auth/me`, { method: 'PATCH', body: { fullname: 'X' } })
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'missing_token'])
  })

  it('applies the CSRF rule to cookie-borne requests', async () => {
    const body = newUser()
    const res = await request(`${srv.url}/auth/register`, { body, headers: { 'x-auth-mode': 'cookie' } })
    const cookie = res.setCookies
      .map((line) => line.split(';')[0])
      .filter((pair) => pair?.startsWith('accessToken='))
      .join('; ')
    expect(cookie).not.toBe('')
    const foreign = await request(`${srv.url}/auth/me`, {
      method: 'PATCH',
      body: { fullname: 'Via Cookie' },
      headers: { cookie, origin: 'https://evil.example' },
    })
    expect([foreign.status, foreign.body.code]).toEqual([403, 'csrf_rejected'])
    const own = await request<{ fullname: string }>(`${srv.url}/auth/me`, {
      method: 'PATCH',
      body: { fullname: 'Via Cookie' },
      headers: { cookie, origin: srv.url },
    })
    expect(own.status).toBe(200)
    expect(own.body.data.fullname).toBe('Via Cookie')
  })
})

describe('the log', () => {
  it('never holds a mail token or link', async () => {
    await srv.auth.flushMail()
    expect(seenSecrets.length).toBeGreaterThan(10)
    const log = srv.logger.text()
    for (const secret of seenSecrets) expect(log.includes(secret)).toBe(false)
  })
})
