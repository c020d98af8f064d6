import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { claimsOf, registerBearer, request } from '../helpers/http.js'
import { fakeTOTPClock, loginForTicket, registerWithTOTP, TOTP_STEP, totpCode } from '../helpers/mfa.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Every row of "Second factor: TOTP and recovery codes" in docs/api.md, with a faked clock for the
 * time steps and the ticket's life, and every error code of the section.
 */
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

const STEP = TOTP_STEP
const clock = fakeTOTPClock()

const url = (path: string) => `${server.url}/auth${path}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function verify(body: Record<string, unknown>) {
  return request(url('/mfa/verify'), { body, headers: { 'x-auth-mode': 'bearer' } })
}

describe('TOTP setup and confirm', () => {
  it('needs a re-authentication, changes nothing until confirmed, and confirms with a code', async () => {
    const user = await registerBearer(server.url)
    const headers = bearer(user.accessToken)
    const none = await request(url('/mfa/totp/setup'), { body: {}, headers })
    expect([none.status, none.body.code]).toEqual([403, 'reauthentication_required'])
    const wrong = await request(url('/mfa/totp/setup'), {
      body: { currentPassword: 'not it at all' },
      headers,
    })
    expect([wrong.status, wrong.body.code]).toEqual([401, 'invalid_credentials'])

    const setup = await request(url('/mfa/totp/setup'), { body: { currentPassword: user.password }, headers })
    expect(setup.status).toBe(200)
    expect(setup.headers.get('cache-control')).toBe('no-store')
    const { secret, otpauthUrl, qrCodeSvg } = setup.body.data
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(otpauthUrl).toMatch(
      new RegExp(
        `^otpauth://totp/tokenpair:${user.username}\\?issuer=tokenpair&secret=${secret}&algorithm=SHA1&digits=6&period=30$`,
      ),
    )
    expect(qrCodeSvg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    // Not on yet: a password login still logs straight in.
    const me = await request(url('/me'), { headers })
    expect(me.body.data.mfa).toEqual({ totp: false, passkeys: 0 })
    const login = await request(url('/login'), { body: { login: user.username, password: user.password } })
    expect(login.status).toBe(200)

    const bad = await request(url('/mfa/totp/confirm'), { body: { code: '000000' }, headers })
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_mfa_code'])
    // A second setup replaces the first: the first secret's codes confirm nothing.
    const second = await request(url('/mfa/totp/setup'), {
      body: { currentPassword: user.password },
      headers,
    })
    const stale = await request(url('/mfa/totp/confirm'), { body: { code: totpCode(secret) }, headers })
    expect([stale.status, stale.body.code]).toEqual([400, 'invalid_mfa_code'])

    const ok = await request(url('/mfa/totp/confirm'), {
      body: { code: totpCode(second.body.data.secret) },
      headers,
    })
    expect(ok.status).toBe(200)
    const codes: string[] = ok.body.data.recoveryCodes
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/)
    expect((await request(url('/me'), { headers })).body.data.mfa).toEqual({ totp: true, passkeys: 0 })
  })

  it('refuses confirm with nothing set up', async () => {
    const user = await registerBearer(server.url)
    const res = await request(url('/mfa/totp/confirm'), {
      body: { code: '123456' },
      headers: bearer(user.accessToken),
    })
    expect([res.status, res.body.code]).toEqual([400, 'invalid_mfa_code'])
  })
})

describe('login with TOTP', () => {
  it('answers mfa_required with a ticket, no cookie and no session; verify opens the session', async () => {
    const user = await registerWithTOTP(server.url)
    const login = await request(url('/login'), { body: { login: user.email, password: user.password } })
    expect(login.status).toBe(401)
    expect(login.body).toMatchObject({
      code: 'mfa_required',
      success: false,
      data: { mfaToken: expect.any(String), methods: ['totp', 'recovery_code'] },
    })
    expect(login.setCookies).toEqual([])
    expect(login.headers.get('www-authenticate')).toBe('Bearer')
    const sessions = await request(url('/sessions'), { headers: user.headers })
    expect(sessions.body.data).toHaveLength(1)

    // The confirm used this step: its code is refused, the next step's passes.
    const replay = await verify({ mfaToken: login.body.data.mfaToken, code: totpCode(user.secret) })
    expect([replay.status, replay.body.code]).toEqual([401, 'invalid_mfa_code'])
    vi.setSystemTime(clock.start + STEP)
    const ok = await verify({ mfaToken: login.body.data.mfaToken, code: totpCode(user.secret) })
    expect(ok.status).toBe(200)
    const claims = claimsOf(ok.body.data.accessToken)
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa'])
    expect(claims.auth_time).toBe(Math.floor((clock.start + STEP) / 1000))
    // The ticket is used up.
    vi.setSystemTime(clock.start + 2 * STEP)
    const again = await verify({ mfaToken: login.body.data.mfaToken, code: totpCode(user.secret) })
    expect([again.status, again.body.code]).toEqual([401, 'invalid_mfa_token'])
    // A refresh keeps what the login proved.
    const refreshed = await request(url('/refresh'), {
      body: { refreshToken: ok.body.data.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(claimsOf(refreshed.body.data.accessToken).amr).toEqual(['pwd', 'otp', 'mfa'])
  })

  it('accepts a code of the step before or after, never older, and each step once', async () => {
    const user = await registerWithTOTP(server.url)
    vi.setSystemTime(clock.start + 3 * STEP)
    const ticket = await loginForTicket(server.url, user)
    const tooOld = await verify({ mfaToken: ticket, code: totpCode(user.secret, clock.start + STEP) })
    expect([tooOld.status, tooOld.body.code]).toEqual([401, 'invalid_mfa_code'])
    const before = await verify({ mfaToken: ticket, code: totpCode(user.secret, clock.start + 2 * STEP) })
    expect(before.status).toBe(200)
    // The step before was used: no code of it, or of an earlier step, passes again.
    const second = await loginForTicket(server.url, user)
    const same = await verify({ mfaToken: second, code: totpCode(user.secret, clock.start + 2 * STEP) })
    expect([same.status, same.body.code]).toEqual([401, 'invalid_mfa_code'])
    const after = await verify({ mfaToken: second, code: totpCode(user.secret, clock.start + 4 * STEP) })
    expect(after.status).toBe(200)
    const third = await loginForTicket(server.url, user)
    const now = await verify({ mfaToken: third, code: totpCode(user.secret, clock.start + 3 * STEP) })
    expect([now.status, now.body.code]).toEqual([401, 'invalid_mfa_code'])
  })

  it('accepts one code of a step once when parallel tickets race with it', async () => {
    const user = await registerWithTOTP(server.url)
    vi.setSystemTime(clock.start + STEP)
    const tickets = await Promise.all(Array.from({ length: 6 }, () => loginForTicket(server.url, user)))
    const code = totpCode(user.secret)
    const results = await Promise.all(tickets.map((mfaToken) => verify({ mfaToken, code })))
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401])
  })

  it('allows five wrong codes per ticket, then refuses the ticket even with the right code', async () => {
    const user = await registerWithTOTP(server.url)
    vi.setSystemTime(clock.start + STEP)
    const ticket = await loginForTicket(server.url, user)
    for (let i = 0; i < 5; i++) {
      const res = await verify({ mfaToken: ticket, code: '000000' })
      expect([res.status, res.body.code]).toEqual([401, 'invalid_mfa_code'])
    }
    const right = await verify({ mfaToken: ticket, code: totpCode(user.secret) })
    expect([right.status, right.body.code]).toEqual([401, 'invalid_mfa_token'])
  })

  it('lets a ticket live five minutes, and knows no other', async () => {
    const user = await registerWithTOTP(server.url)
    vi.setSystemTime(clock.start + STEP)
    const ticket = await loginForTicket(server.url, user)
    vi.setSystemTime(clock.start + STEP + 5 * 60_000 + 1)
    const late = await verify({ mfaToken: ticket, code: totpCode(user.secret) })
    expect([late.status, late.body.code]).toEqual([401, 'invalid_mfa_token'])
    const unknown = await verify({ mfaToken: 'no-such-ticket', code: '123456' })
    expect([unknown.status, unknown.body.code]).toEqual([401, 'invalid_mfa_token'])
    const both = await verify({ mfaToken: ticket, code: '123456', recoveryCode: 'abcde-fghij' })
    expect([both.status, both.body.code]).toEqual([400, 'validation_failed'])
    const neither = await verify({ mfaToken: ticket })
    expect([neither.status, neither.body.code]).toEqual([400, 'validation_failed'])
  })
})

describe('recovery codes', () => {
  it('completes a login once per code, also under parallel requests, in any case and spacing', async () => {
    const user = await registerWithTOTP(server.url)
    const [first, second] = user.recoveryCodes
    const ticket = await loginForTicket(server.url, user)
    const ok = await verify({ mfaToken: ticket, recoveryCode: first!.toUpperCase().replace('-', ' ') })
    expect(ok.status).toBe(200)
    expect(claimsOf(ok.body.data.accessToken).amr).toEqual(['pwd', 'otp', 'mfa'])
    const reused = await verify({ mfaToken: await loginForTicket(server.url, user), recoveryCode: first })
    expect([reused.status, reused.body.code]).toEqual([401, 'invalid_mfa_code'])

    const tickets = await Promise.all(Array.from({ length: 6 }, () => loginForTicket(server.url, user)))
    const results = await Promise.all(tickets.map((mfaToken) => verify({ mfaToken, recoveryCode: second })))
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401])
  })

  it('regenerates with a re-authentication; the old codes stop working', async () => {
    const user = await registerWithTOTP(server.url)
    const none = await request(url('/mfa/recovery-codes'), { body: {}, headers: user.headers })
    expect([none.status, none.body.code]).toEqual([403, 'reauthentication_required'])
    const fresh = await request(url('/mfa/recovery-codes'), {
      body: { currentPassword: user.password },
      headers: user.headers,
    })
    expect(fresh.status).toBe(200)
    expect(fresh.body.data.recoveryCodes).toHaveLength(10)
    const old = await verify({
      mfaToken: await loginForTicket(server.url, user),
      recoveryCode: user.recoveryCodes[0],
    })
    expect([old.status, old.body.code]).toEqual([401, 'invalid_mfa_code'])
    const ok = await verify({
      mfaToken: await loginForTicket(server.url, user),
      recoveryCode: fresh.body.data.recoveryCodes[0],
    })
    expect(ok.status).toBe(200)
  })

  it('answers not_found for a user without TOTP', async () => {
    const user = await registerBearer(server.url)
    const res = await request(url('/mfa/recovery-codes'), {
      body: { currentPassword: user.password },
      headers: bearer(user.accessToken),
    })
    expect([res.status, res.body.code]).toEqual([404, 'not_found'])
  })
})

describe('TOTP disable', () => {
  it('needs a re-authentication and a TOTP or recovery code; then the login asks for nothing', async () => {
    const user = await registerWithTOTP(server.url)
    const none = await request(url('/mfa/totp/disable'), { body: { code: '123456' }, headers: user.headers })
    expect([none.status, none.body.code]).toEqual([403, 'reauthentication_required'])
    const wrong = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: '000000' },
      headers: user.headers,
    })
    expect([wrong.status, wrong.body.code]).toEqual([400, 'invalid_mfa_code'])
    const ok = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: user.recoveryCodes[3] },
      headers: user.headers,
    })
    expect(ok.status).toBe(200)
    expect((await request(url('/me'), { headers: user.headers })).body.data.mfa.totp).toBe(false)
    const login = await request(url('/login'), { body: { login: user.username, password: user.password } })
    expect(login.status).toBe(200)
    const again = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: totpCode(user.secret, clock.start + STEP) },
      headers: user.headers,
    })
    expect([again.status, again.body.code]).toEqual([400, 'invalid_mfa_code'])
  })

  it('disables with a TOTP code of a fresh step', async () => {
    const user = await registerWithTOTP(server.url)
    vi.setSystemTime(clock.start + STEP)
    const ok = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: totpCode(user.secret) },
      headers: user.headers,
    })
    expect(ok.status).toBe(200)
  })
})

describe('limits', () => {
  it('counts wrong codes against the login limits; a right password does not reset them', async () => {
    const limited = await startTestServer({ rateLimit: { loginPair: '4/1h' } })
    try {
      const user = await registerWithTOTP(limited.url)
      vi.setSystemTime(clock.start + STEP)
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) {
        const ticket = await loginForTicket(limited.url, user)
        const res = await request(`${limited.url}/auth/mfa/verify`, {
          body: { mfaToken: ticket, code: '000000' },
        })
        statuses.push(res.status)
      }
      expect(statuses).toEqual([401, 401, 401])
      // Three wrong codes and one more try: the fifth attempt of the pair is refused.
      const ticket = await loginForTicket(limited.url, user)
      const fourth = await request(`${limited.url}/auth/mfa/verify`, {
        body: { mfaToken: ticket, code: '000000' },
      })
      expect(fourth.status).toBe(401)
      const limitedLogin = await request(`${limited.url}/auth/login`, {
        body: { login: user.username, password: user.password },
      })
      expect([limitedLogin.status, limitedLogin.body.code]).toEqual([429, 'rate_limited'])
      expect(limitedLogin.headers.get('retry-after')).toMatch(/^\d+$/)
    } finally {
      await limited.close()
    }
  })
})
