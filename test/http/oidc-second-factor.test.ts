import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dpopProof, makeDPoPKey } from '../helpers/dpop-key.js'
import { claimsOf, parseSetCookies, request } from '../helpers/http.js'
import { totpCode, turnOnTOTP } from '../helpers/mfa.js'
import { type DanceOptions, danceToCallback, startServerWithOP } from '../helpers/oidc-dance.js'
import type { TestAccount, TestOP } from '../helpers/oidc-op.js'
import type { TestServer } from '../helpers/test-server.js'

/*
 * A user with TOTP who signs in through an identity provider (a real OpenID provider on loopback)
 * gets no session from the callback: a login ticket in the fragment of the redirect, which
 * `POST /auth/mfa/verify` with a code turns into the session, as after a password.
 */

let op: TestOP
let server: TestServer
let close: () => Promise<void>
const logLines: string[] = []

beforeAll(async () => {
  const capture = (...args: unknown[]) => {
    logLines.push(JSON.stringify(args))
  }
  ;({ op, server, close } = await startServerWithOP({
    logger: { info: capture, warn: capture, error: capture },
  }))
})
afterAll(() => close?.())

const url = (path: string) => `${server.url}/auth${path}`
const STEP = 30_000

let accounts = 0
function newAccount(): TestAccount {
  accounts++
  const tag = `${process.pid.toString(36)}${accounts}${Math.random().toString(36).slice(2, 6)}`
  return { sub: `mfa-${tag}`, email: `mfa_${tag}@example.com`, email_verified: true, name: 'Fed Two' }
}

function signIn(account: TestAccount, options: DanceOptions = {}) {
  op.signInAs(account)
  return danceToCallback(server.url, options)
}

/**
 * A person whose first provider sign-in made their account, who then turned TOTP on (the login
 * was recent, which stands in for a password the account does not have). Returns the secret, the
 * user's id and the recovery codes.
 */
async function userWithTOTP() {
  const account = newAccount()
  const { browser } = await signIn(account)
  const headers = { cookie: `accessToken=${browser.cookie(server.url, 'accessToken')}`, origin: server.url }
  const { secret, recoveryCodes } = await turnOnTOTP(server.url, headers)
  const me = await request<{ id: string }>(url('/me'), { headers })
  return { account, secret, userId: me.body.data.id, recoveryCodes }
}

/**
 * A code the server takes once after the confirm: the step after the current one (a code of the
 * step before or after is accepted; the confirm used up the current one and those before it).
 */
const nextCode = (secret: string) => totpCode(secret, Date.now() + STEP)

/** The ticket and methods the callback's redirect carries in its fragment. */
function ticketOf(location: URL) {
  const fragment = new URLSearchParams(location.hash.slice(1))
  return { mfaToken: fragment.get('mfa_token'), methods: fragment.get('methods') }
}

const verify = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  request(url('/mfa/verify'), { body, headers: { 'x-auth-mode': 'bearer', ...headers } })

const liveSessions = (userId: string) => server.auth.storage.listActiveSessions(userId, Date.now())

describe('the second factor on a sign-in with an identity provider', () => {
  it('sends a TOTP user back with a ticket in the fragment and no session; a code opens it', async () => {
    const { account, secret, userId } = await userWithTOTP()
    expect(await liveSessions(userId)).toHaveLength(1)

    const { callback } = await signIn(account, { returnTo: '/notes?tab=2#section' })
    expect(callback.status).toBe(302)
    const location = callback.location!
    // The ticket rides in the fragment (never sent to a server, kept out of logs and Referer),
    // and replaces the fragment returnTo had; the path and query stay.
    expect(`${location.origin}${location.pathname}${location.search}`).toBe(`${server.url}/notes?tab=2`)
    const { mfaToken, methods } = ticketOf(location)
    expect(mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(methods).toBe('totp,recovery_code')
    expect(location.searchParams.has('mfa_token')).toBe(false)
    expect(callback.headers.get('cache-control')).toBe('no-store')
    // No token cookie, no session yet.
    const cookies = parseSetCookies(callback.setCookies)
    expect(cookies.has('accessToken') || cookies.has('refreshToken')).toBe(false)
    expect(await liveSessions(userId)).toHaveLength(1)

    // A wrong code fails and opens nothing.
    const wrong = await verify({ mfaToken, code: totpCode(secret, Date.now() + 20 * STEP) })
    expect([wrong.status, wrong.body.code]).toEqual([401, 'invalid_mfa_code'])
    expect(await liveSessions(userId)).toHaveLength(1)

    const before = Math.floor(Date.now() / 1000)
    const ok = await verify({ mfaToken, code: nextCode(secret) })
    expect(ok.status).toBe(200)
    const claims = claimsOf(ok.body.data.accessToken)
    expect(claims.sub).toBe(userId)
    expect(claims.amr).toEqual(['fed', 'otp', 'mfa'])
    expect(claims.auth_time).toBeGreaterThanOrEqual(before)
    expect(claims.auth_time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
    expect(claims.cnf).toBeUndefined()
    expect(await liveSessions(userId)).toHaveLength(2)
    // The ticket is used up; a refresh keeps what the login proved.
    const again = await verify({ mfaToken, code: nextCode(secret) })
    expect([again.status, again.body.code]).toEqual([401, 'invalid_mfa_token'])
    const refreshed = await request(url('/refresh'), {
      body: { refreshToken: ok.body.data.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(claimsOf(refreshed.body.data.accessToken).amr).toEqual(['fed', 'otp', 'mfa'])
    // No line of the server's log holds the ticket.
    expect(logLines.join('\n')).not.toContain(mfaToken!)
  })

  it('takes a recovery code as well', async () => {
    const { account, recoveryCodes } = await userWithTOTP()
    const { callback } = await signIn(account)
    const ok = await verify({
      mfaToken: ticketOf(callback.location!).mfaToken,
      recoveryCode: recoveryCodes[0],
    })
    expect(ok.status).toBe(200)
    expect(claimsOf(ok.body.data.accessToken).amr).toEqual(['fed', 'otp', 'mfa'])
  })

  it('binds the session to the key the start named; a proof by another key is refused', async () => {
    const { account, secret } = await userWithTOTP()
    const key = await makeDPoPKey()
    const { callback } = await signIn(account, { dpopJkt: key.jkt })
    const { mfaToken } = ticketOf(callback.location!)
    const other = await makeDPoPKey()
    const refused = await verify(
      { mfaToken, code: nextCode(secret) },
      { dpop: await dpopProof(other, 'POST', url('/mfa/verify')) },
    )
    expect([refused.status, refused.body.code]).toEqual([401, 'invalid_dpop_proof'])
    // The code was not spent on it: the same code with a proof by the start's key opens the session.
    const ok = await verify(
      { mfaToken, code: nextCode(secret) },
      { dpop: await dpopProof(key, 'POST', url('/mfa/verify')) },
    )
    expect(ok.status).toBe(200)
    expect(claimsOf(ok.body.data.accessToken).cnf).toEqual({ jkt: key.jkt })
    const unproved = await request(url('/refresh'), {
      body: { refreshToken: ok.body.data.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect([unproved.status, unproved.body.code]).toEqual([401, 'invalid_dpop_proof'])
  })

  it('binds to the start’s key when the verify carries no proof', async () => {
    const { account, secret } = await userWithTOTP()
    const key = await makeDPoPKey()
    const { callback } = await signIn(account, { dpopJkt: key.jkt })
    const ok = await verify({ mfaToken: ticketOf(callback.location!).mfaToken, code: nextCode(secret) })
    expect(ok.status).toBe(200)
    expect(claimsOf(ok.body.data.accessToken).cnf).toEqual({ jkt: key.jkt })
  })
})
