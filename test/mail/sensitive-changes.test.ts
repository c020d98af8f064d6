import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newUser, request } from '../helpers/http.js'
import {
  type MailTestServer,
  type ReceivedMail,
  readLink,
  type SMTPPeer,
  startMailTestServer,
  startSMTPPeer,
} from './mail-test-kit.js'

/*
 * Sensitive changes need the owner: an email change needs the current password (a stolen access
 * token alone cannot move the account to an address of the thief's), `PATCH /auth/me` is limited
 * per user and per IP, and the owner hears of every change by mail, in a notice that carries no
 * token and no link. A reset link mailed before a password change no longer works after it.
 */

let peer: SMTPPeer
let srv: MailTestServer

beforeAll(async () => {
  peer = await startSMTPPeer()
  srv = await startMailTestServer({
    mail: { smtpUrl: peer.url, retryDelay: 20 },
    rateLimit: { register: false, resetRequestIp: false, loginPair: '3/1h', sensitiveUser: '4/1h' },
  })
})

afterAll(async () => {
  await srv?.close()
  await peer?.close()
})

async function register() {
  const body = newUser()
  const res = await request<{ accessToken: string; user: { id: string } }>(`${srv.url}/auth/register`, {
    body,
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status).toBe(201)
  // The verification mail of the registration, read so that the next mail is the one under test.
  await peer.nextMail(body.email)
  return { ...body, ...res.body.data }
}

function patchMe(accessToken: string, body: Record<string, unknown>) {
  return request<{ email: string }>(`${srv.url}/auth/me`, {
    method: 'PATCH',
    body,
    headers: { authorization: `Bearer ${accessToken}` },
  })
}

/** A notice: no link of any kind, no token-like string, only what happened. */
function expectNotice(mail: ReceivedMail, subject: string) {
  expect(mail.subject).toBe(subject)
  for (const body of [mail.text, mail.html]) {
    expect(body).not.toMatch(/https?:\/\//)
    expect(body).not.toMatch(/token=/)
    expect(body).not.toMatch(/[A-Za-z0-9_-]{40,}/)
  }
  expect(mail.html).not.toContain('<a ')
}

describe('an email change', () => {
  it('needs the current password: none is 403 reauthentication_required, a wrong one 401, nothing changes', async () => {
    const user = await register()
    const moved = `moved-${user.username}@example.org`
    const none = await patchMe(user.accessToken, { email: moved })
    expect([none.status, none.body.code]).toEqual([403, 'reauthentication_required'])
    const wrong = await patchMe(user.accessToken, { email: moved, currentPassword: 'not my password' })
    expect([wrong.status, wrong.body.code]).toEqual([401, 'invalid_credentials'])
    const me = await request<{ email: string }>(`${srv.url}/auth/me`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(me.body.data.email).toBe(user.email)
    // A fullname alone is no sensitive change.
    expect((await patchMe(user.accessToken, { fullname: 'Renamed' })).status).toBe(200)
  })

  it('counts wrong current passwords against the login limits', async () => {
    const user = await register()
    const moved = `moved-${user.username}@example.org`
    for (let i = 0; i < 3; i++) {
      const res = await patchMe(user.accessToken, { email: moved, currentPassword: `wrong ${i}` })
      expect(res.body.code).toBe('invalid_credentials')
    }
    const limited = await patchMe(user.accessToken, { email: moved, currentPassword: user.password })
    expect([limited.status, limited.body.code]).toEqual([429, 'rate_limited'])
  })

  it('mails a notice to the old address, which carries no token and no link', async () => {
    const user = await register()
    const moved = `moved-${user.username}@example.org`
    const res = await patchMe(user.accessToken, { email: moved, currentPassword: user.password })
    expect([res.status, res.body.data.email]).toEqual([200, moved])
    const notice = await peer.nextMail(user.email)
    expectNotice(notice, 'Your email address was changed')
    expect(notice.text).toContain(moved)
    // The new address gets its verification link, as before.
    expect(readLink(await peer.nextMail(moved), 'verify-email').token).toBeTruthy()
  })
})

describe('PATCH /auth/me', () => {
  it('is limited per user: every request counts, right or wrong', async () => {
    const user = await register()
    for (let i = 0; i < 4; i++)
      expect((await patchMe(user.accessToken, { fullname: `Name ${i}` })).status).toBe(200)
    const limited = await patchMe(user.accessToken, { fullname: 'One too many' })
    expect([limited.status, limited.body.code]).toEqual([429, 'rate_limited'])
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another user is not limited by this one.
    const other = await register()
    expect((await patchMe(other.accessToken, { fullname: 'Fine' })).status).toBe(200)
  })
})

describe('a password change', () => {
  it('mails a notice, and kills a reset link issued before it', async () => {
    const user = await register()
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const reset = readLink(await peer.nextMail(user.email), 'reset-password')
    const changed = await request(`${srv.url}/auth/change-password`, {
      body: { currentPassword: user.password, newPassword: 'a brand new password' },
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(changed.status).toBe(200)
    expectNotice(await peer.nextMail(user.email), 'Your password was changed')
    const late = await request(`${srv.url}/auth/password/reset`, {
      body: { token: reset.token, newPassword: 'the thief would like this one' },
    })
    expect([late.status, late.body.code]).toEqual([400, 'invalid_reset_token'])
    const login = await request(`${srv.url}/auth/login`, {
      body: { login: user.username, password: 'a brand new password' },
    })
    expect(login.status).toBe(200)
  })

  it('by reset mails a notice too', async () => {
    const user = await register()
    await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const reset = readLink(await peer.nextMail(user.email), 'reset-password')
    const done = await request(`${srv.url}/auth/password/reset`, {
      body: { token: reset.token, newPassword: 'reset to something new' },
    })
    expect(done.status).toBe(200)
    expectNotice(await peer.nextMail(user.email), 'Your password was reset')
  })
})
