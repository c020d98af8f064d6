import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimsOf, registerBearer, request } from '../helpers/http.js'
import { registerWithTOTP, totpCode } from '../helpers/mfa.js'
import { SoftAuthenticator } from '../helpers/soft-authenticator.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Every row of "Passkeys (WebAuthn)" in docs/api.md, with a software authenticator whose responses
 * go through the server's real @simplewebauthn/server verification (the browser tests use
 * Chromium's virtual authenticator).
 */
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

const url = (path: string, base = server.url) => `${base}/auth${path}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const origin = () => server.url

type User = Awaited<ReturnType<typeof registerBearer>>

/** Registers a passkey for `user` with a new software authenticator. */
async function addPasskey(
  user: User,
  options: { userVerified?: boolean; name?: string; base?: string } = {},
) {
  const base = options.base ?? server.url
  const headers = bearer(user.accessToken)
  const begin = await request(url('/passkeys/register/options', base), {
    body: { currentPassword: user.password },
    headers,
  })
  expect(begin.status).toBe(200)
  const authenticator = new SoftAuthenticator()
  const response = authenticator.register(begin.body.data, { origin: base, ...options })
  const done = await request(url('/passkeys/register', base), {
    body: { response, ...(options.name ? { name: options.name } : {}) },
    headers,
  })
  expect(done.status).toBe(201)
  return { authenticator, passkey: done.body.data as { id: string; name: string }, response }
}

async function passkeyLogin(
  authenticator: SoftAuthenticator,
  options: { userVerified?: boolean; origin?: string; base?: string } = {},
) {
  const base = options.base ?? server.url
  const begin = await request(url('/passkeys/login/options', base), { method: 'POST' })
  expect(begin.status).toBe(200)
  const response = authenticator.assert(begin.body.data.options, {
    origin: options.origin ?? base,
    ...options,
  })
  const body = { challengeId: begin.body.data.challengeId, response }
  const res = await request(url('/passkeys/login', base), { body, headers: { 'x-auth-mode': 'bearer' } })
  return { res, body }
}

describe('passkey registration', () => {
  it('offers a resident key, user verification preferred, ES256 and EdDSA, after a re-authentication', async () => {
    const user = await registerBearer(server.url)
    const headers = bearer(user.accessToken)
    const none = await request(url('/passkeys/register/options'), { body: {}, headers })
    expect([none.status, none.body.code]).toEqual([403, 'reauthentication_required'])
    const res = await request(url('/passkeys/register/options'), {
      body: { currentPassword: user.password },
      headers,
    })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({
      rp: { id: '127.0.0.1', name: 'tokenpair' },
      user: { name: user.username, displayName: user.fullname },
      authenticatorSelection: {
        residentKey: 'required',
        requireResidentKey: true,
        userVerification: 'preferred',
      },
      attestation: 'none',
      excludeCredentials: [],
    })
    expect(res.body.data.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-8, -7])
  })

  it('registers, lists and counts a passkey; a challenge serves one registration', async () => {
    const user = await registerBearer(server.url)
    const headers = bearer(user.accessToken)
    const { passkey, response } = await addPasskey(user, { name: 'Laptop' })
    expect(passkey).toEqual({
      id: expect.any(String),
      name: 'Laptop',
      createdAt: expect.any(String),
      lastUsedAt: null,
    })
    const again = await request(url('/passkeys/register'), { body: { response }, headers })
    expect([again.status, again.body.code]).toEqual([400, 'validation_failed'])
    const list = await request(url('/passkeys'), { headers })
    expect(list.body.data).toEqual([passkey])
    expect((await request(url('/me'), { headers })).body.data.mfa).toEqual({ totp: false, passkeys: 1 })
    // The next options exclude it.
    const next = await request(url('/passkeys/register/options'), {
      body: { currentPassword: user.password },
      headers,
    })
    expect(next.body.data.excludeCredentials).toHaveLength(1)
  })

  it('refuses a registration from another origin, or for another user', async () => {
    const user = await registerBearer(server.url)
    const other = await registerBearer(server.url)
    const begin = await request(url('/passkeys/register/options'), {
      body: { currentPassword: user.password },
      headers: bearer(user.accessToken),
    })
    const foreign = new SoftAuthenticator().register(begin.body.data, { origin: 'https://evil.example' })
    const res = await request(url('/passkeys/register'), {
      body: { response: foreign },
      headers: bearer(user.accessToken),
    })
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed'])
    const begin2 = await request(url('/passkeys/register/options'), {
      body: { currentPassword: user.password },
      headers: bearer(user.accessToken),
    })
    const stolen = new SoftAuthenticator().register(begin2.body.data, { origin: origin() })
    const res2 = await request(url('/passkeys/register'), {
      body: { response: stolen },
      headers: bearer(other.accessToken),
    })
    expect([res2.status, res2.body.code]).toEqual([400, 'validation_failed'])
    const bad = await request(url('/passkeys/register'), {
      body: { response: { id: 'x' } },
      headers: bearer(user.accessToken),
    })
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed'])
  })
})

describe('passkey login', () => {
  it('logs in without a name: a whole login (amr hwk, mfa), the counter and last use kept', async () => {
    const user = await registerBearer(server.url)
    const { authenticator, passkey } = await addPasskey(user)
    const { res } = await passkeyLogin(authenticator)
    expect(res.status).toBe(200)
    expect(res.body.data.user.id).toBe(user.id)
    expect(claimsOf(res.body.data.accessToken).amr).toEqual(['hwk', 'mfa'])
    const list = await request(url('/passkeys'), { headers: bearer(user.accessToken) })
    expect(list.body.data[0]).toMatchObject({ id: passkey.id, lastUsedAt: expect.any(String) })
    expect((await passkeyLogin(authenticator)).res.status).toBe(200)
  })

  it('refuses a replayed assertion, a used challenge, another origin and a counter that went back', async () => {
    const user = await registerBearer(server.url)
    const { authenticator } = await addPasskey(user)
    const { res, body } = await passkeyLogin(authenticator)
    expect(res.status).toBe(200)
    const replay = await request(url('/passkeys/login'), { body })
    expect([replay.status, replay.body.code]).toEqual([401, 'invalid_credentials'])
    expect(replay.headers.get('www-authenticate')).toBe('Bearer')

    const foreign = await passkeyLogin(authenticator, { origin: 'http://localhost:1' })
    expect([foreign.res.status, foreign.res.body.code]).toEqual([401, 'invalid_credentials'])

    // A clone of the authenticator (its counter behind the server's) is refused.
    authenticator.counter = 0
    const cloned = await passkeyLogin(authenticator)
    expect([cloned.res.status, cloned.res.body.code]).toEqual([401, 'invalid_credentials'])

    const unknown = await request(url('/passkeys/login'), {
      body: { challengeId: 'nope', response: body.response },
    })
    expect([unknown.status, unknown.body.code]).toEqual([401, 'invalid_credentials'])
  })

  it('asks a user with TOTP for nothing after a verifying passkey, and for a code after one that did not verify', async () => {
    const user = await registerWithTOTP(server.url)
    const { authenticator } = await addPasskey(user)
    const verified = await passkeyLogin(authenticator)
    expect(verified.res.status).toBe(200)
    const presence = await passkeyLogin(authenticator, { userVerified: false })
    expect([presence.res.status, presence.res.body.code]).toEqual([401, 'mfa_required'])
    // The confirm used the current step; a code of the next step completes the login.
    const ok = await request(url('/mfa/verify'), {
      body: { mfaToken: presence.res.body.data.mfaToken, code: totpCode(user.secret, Date.now() + 30_000) },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(ok.status).toBe(200)
    expect(claimsOf(ok.body.data.accessToken).amr).toEqual(['hwk', 'otp', 'mfa'])
  })
})

describe('passkey rename and delete', () => {
  it('renames and deletes the owner passkeys only, after a re-authentication', async () => {
    const user = await registerBearer(server.url)
    const other = await registerBearer(server.url)
    const { passkey } = await addPasskey(user)
    const headers = bearer(user.accessToken)
    const renamed = await request(url(`/passkeys/${passkey.id}`), {
      method: 'PATCH',
      body: { name: ' Phone ' },
      headers,
    })
    expect(renamed.status).toBe(200)
    expect(renamed.body.data.name).toBe('Phone')
    const foreign = await request(url(`/passkeys/${passkey.id}`), {
      method: 'PATCH',
      body: { name: 'Mine' },
      headers: bearer(other.accessToken),
    })
    expect([foreign.status, foreign.body.code]).toEqual([404, 'not_found'])

    const othersDelete = await request(url(`/passkeys/${passkey.id}`), {
      method: 'DELETE',
      body: { currentPassword: other.password },
      headers: bearer(other.accessToken),
    })
    expect([othersDelete.status, othersDelete.body.code]).toEqual([404, 'not_found'])
    const noReauth = await request(url(`/passkeys/${passkey.id}`), { method: 'DELETE', body: {}, headers })
    expect([noReauth.status, noReauth.body.code]).toEqual([403, 'reauthentication_required'])
    const ok = await request(url(`/passkeys/${passkey.id}`), {
      method: 'DELETE',
      body: { currentPassword: user.password },
      headers,
    })
    expect(ok.status).toBe(200)
    expect((await request(url('/passkeys'), { headers })).body.data).toEqual([])
    expect((await request(url('/me'), { headers })).body.data.mfa.passkeys).toBe(0)
  })

  it('refuses to delete the only way into an account without a password (409 last_credential)', async () => {
    const user = await registerBearer(server.url)
    const first = await addPasskey(user)
    const second = await addPasskey(user)
    // An account whose only ways in are its passkeys (as one made through an identity provider).
    await server.auth.storage.updatePasswordHash(user.id, '', Date.now())
    const headers = bearer(user.accessToken)
    // Without a password, the recent login stands in for it.
    const ok = await request(url(`/passkeys/${first.passkey.id}`), { method: 'DELETE', body: {}, headers })
    expect(ok.status).toBe(200)
    const last = await request(url(`/passkeys/${second.passkey.id}`), { method: 'DELETE', body: {}, headers })
    expect([last.status, last.body.code]).toEqual([409, 'last_credential'])
    expect((await passkeyLogin(second.authenticator)).res.status).toBe(200)
  })
})

describe('the rate limit of passkey login challenges', () => {
  it('counts each challenge per IP, answers 429 with Retry-After past the limit; a login gives its point back', async () => {
    const limited = await startTestServer({ rateLimit: { passkeyChallenge: '3/15m' } })
    try {
      const base = limited.url
      const options = () => request(url('/passkeys/login/options', base), { method: 'POST' })
      const user = await registerBearer(base)
      const { authenticator } = await addPasskey(user, { base })
      expect((await options()).status).toBe(200)
      expect((await options()).status).toBe(200)
      // The third challenge serves a login: its point comes back, so one more challenge fits.
      const { res } = await passkeyLogin(authenticator, { base })
      expect(res.status).toBe(200)
      expect((await options()).status).toBe(200)
      const spent = await options()
      expect([spent.status, spent.body.code]).toEqual([429, 'rate_limited'])
      expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(spent.body.data).toBeNull()
      // The password login is limited apart, and gives no challenge back.
      const login = await request(url('/login', base), {
        body: { login: user.username, password: user.password },
        headers: { 'x-auth-mode': 'bearer' },
      })
      expect(login.status).toBe(200)
      expect((await options()).status).toBe(429)
    } finally {
      await limited.close()
    }
  })
})

describe('the app hooks around a passkey login', () => {
  it('runs beforeSessionCreate and afterLogin, as a password login does', async () => {
    const calls: string[] = []
    const hooked = await startTestServer({
      rateLimit: false,
      hooks: {
        beforeSessionCreate: ({ user, reason }) => {
          calls.push(`before ${reason} ${user.id}`)
        },
        afterLogin: ({ user, session }) => {
          calls.push(`after ${user.id} ${session.id}`)
        },
      },
    })
    try {
      const user = await registerBearer(hooked.url)
      const { authenticator } = await addPasskey(user, { base: hooked.url })
      calls.length = 0
      const { res } = await passkeyLogin(authenticator, { base: hooked.url })
      expect(res.status).toBe(200)
      const sid = claimsOf(res.body.data.accessToken).sid
      expect(calls).toEqual([`before login ${user.id}`, `after ${user.id} ${sid}`])
    } finally {
      await hooked.close()
    }
  })
})
