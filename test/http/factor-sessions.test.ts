import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import { fakeTOTPClock, loginForTicket, registerWithTOTP, TOTP_STEP, totpCode } from '../helpers/mfa.js'
import { SoftAuthenticator } from '../helpers/soft-authenticator.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Sessions after a factor change (docs/api.md, "Sensitive changes"): turning TOTP off, renewing the
 * recovery codes, replacing the TOTP secret and removing a passkey end every other session of the
 * user, as a password change does (OWASP ASVS 7.4.3); the session that made the change stays, and
 * adding a factor leaves the others alone.
 */
let server: TestServer
const events: { type: string; reason?: string; count?: number; userId?: string }[] = []
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
  server.auth.events.subscribe((event) => {
    events.push(event)
  })
})
afterAll(async () => {
  await server.close()
})

const STEP = TOTP_STEP
const clock = fakeTOTPClock()

const url = (path: string) => `${server.url}/auth${path}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Refreshes the session that `held` holds (`200` while it lives), keeping the rotated token. */
async function refresh(held: { refreshToken: string }): Promise<{ status: number; code?: string }> {
  const res = await request(url('/refresh'), {
    body: { refreshToken: held.refreshToken },
    headers: { 'x-auth-mode': 'bearer' },
  })
  if (res.status === 200) held.refreshToken = res.body.data.refreshToken
  return { status: res.status, code: res.body.code }
}

/** A second session of a user with TOTP: the password, then one of the recovery codes. */
async function secondSession(user: Awaited<ReturnType<typeof registerWithTOTP>>, codeIndex: number) {
  const mfaToken = await loginForTicket(server.url, user)
  const res = await request(url('/mfa/verify'), {
    body: { mfaToken, recoveryCode: user.recoveryCodes[codeIndex] },
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status).toBe(200)
  return res.body.data as { refreshToken: string }
}

/** A second session of a user without TOTP: the password. */
async function passwordSession(user: { username: string; password: string }) {
  const res = await request(url('/login'), {
    body: { login: user.username, password: user.password },
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status).toBe(200)
  return res.body.data as { refreshToken: string }
}

async function addPasskey(user: Awaited<ReturnType<typeof registerBearer>>) {
  const headers = bearer(user.accessToken)
  const begin = await request(url('/passkeys/register/options'), {
    body: { currentPassword: user.password },
    headers,
  })
  const response = new SoftAuthenticator().register(begin.body.data, { origin: server.url })
  const done = await request(url('/passkeys/register'), { body: { response }, headers })
  expect(done.status).toBe(201)
  return done.body.data as { id: string }
}

/** The `session_revoked` events of `userId` with reason `factor_changed`. */
const factorRevocations = (userId: string) =>
  events.filter((e) => e.type === 'session_revoked' && e.userId === userId && e.reason === 'factor_changed')

describe('sessions after a factor change', () => {
  it('turning TOTP off ends every other session; the one that turned it off stays', async () => {
    const user = await registerWithTOTP(server.url)
    const other = await secondSession(user, 0)
    const third = await secondSession(user, 1)
    const off = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: user.recoveryCodes[2] },
      headers: user.headers,
    })
    expect(off.status).toBe(200)
    expect(await refresh(other)).toEqual({ status: 401, code: 'invalid_refresh_token' })
    expect(await refresh(third)).toEqual({ status: 401, code: 'invalid_refresh_token' })
    expect((await refresh(user)).status).toBe(200)
    const sessions = await request(url('/sessions'), { headers: user.headers })
    expect(sessions.body.data).toHaveLength(1)
    expect(factorRevocations(user.id)).toEqual([expect.objectContaining({ count: 2 })])
  })

  it('a wrong code turns nothing off and ends no session', async () => {
    const user = await registerWithTOTP(server.url)
    const other = await secondSession(user, 0)
    const wrong = await request(url('/mfa/totp/disable'), {
      body: { currentPassword: user.password, code: '000000' },
      headers: user.headers,
    })
    expect([wrong.status, wrong.body.code]).toEqual([400, 'invalid_mfa_code'])
    expect((await refresh(other)).status).toBe(200)
    expect(factorRevocations(user.id)).toEqual([])
  })

  it('new recovery codes end every other session', async () => {
    const user = await registerWithTOTP(server.url)
    const other = await secondSession(user, 0)
    const renewed = await request(url('/mfa/recovery-codes'), {
      body: { currentPassword: user.password },
      headers: user.headers,
    })
    expect(renewed.status).toBe(200)
    expect(await refresh(other)).toEqual({ status: 401, code: 'invalid_refresh_token' })
    expect((await refresh(user)).status).toBe(200)
  })

  it('replacing a TOTP secret ends the other sessions; turning TOTP on the first time does not', async () => {
    const user = await registerBearer(server.url)
    const headers = bearer(user.accessToken)
    const other = await passwordSession(user)
    const setUp = async () => {
      const setup = await request(url('/mfa/totp/setup'), {
        body: { currentPassword: user.password },
        headers,
      })
      expect(setup.status).toBe(200)
      return setup.body.data.secret as string
    }
    const first = await setUp()
    expect(
      (await request(url('/mfa/totp/confirm'), { body: { code: totpCode(first) }, headers })).status,
    ).toBe(200)
    expect((await refresh(other)).status).toBe(200)

    const second = await setUp()
    vi.setSystemTime(clock.start + STEP)
    expect(
      (await request(url('/mfa/totp/confirm'), { body: { code: totpCode(second) }, headers })).status,
    ).toBe(200)
    expect(await refresh(other)).toEqual({ status: 401, code: 'invalid_refresh_token' })
    expect((await refresh(user)).status).toBe(200)
  })

  it('removing a passkey ends every other session; adding one does not', async () => {
    const user = await registerBearer(server.url)
    const headers = bearer(user.accessToken)
    const other = await passwordSession(user)
    const passkey = await addPasskey(user)
    expect((await refresh(other)).status).toBe(200)
    const refused = await request(url(`/passkeys/${passkey.id}`), { method: 'DELETE', body: {}, headers })
    expect([refused.status, refused.body.code]).toEqual([403, 'reauthentication_required'])
    const later = await passwordSession(user)
    const removed = await request(url(`/passkeys/${passkey.id}`), {
      method: 'DELETE',
      body: { currentPassword: user.password },
      headers,
    })
    expect(removed.status).toBe(200)
    expect(await refresh(later)).toEqual({ status: 401, code: 'invalid_refresh_token' })
    expect((await refresh(user)).status).toBe(200)
    expect(factorRevocations(user.id)).toEqual([expect.objectContaining({ count: 2 })])
  })
})
