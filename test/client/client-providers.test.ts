import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, MFARequiredError, type TokenpairClient } from '../../src/client/index.js'
import { claimsOf, request } from '../helpers/http.js'
import { totpCode, turnOnTOTP } from '../helpers/mfa.js'
import { danceToCallback, isCallbackOf, startServerWithOP } from '../helpers/oidc-dance.js'
import type { TestAccount, TestOP } from '../helpers/oidc-op.js'
import { RedirectBrowser } from '../helpers/redirect-browser.js'
import type { TestServer } from '../helpers/test-server.js'

/*
 * `client.providers` against a real OpenID provider on loopback: the start link names the
 * client's DPoP key, so the session the provider sign-in opens is bound to it; the way back
 * reads the login ticket of a user with a second factor. Node stands in for the browser: a
 * cookie jar around fetch, and the redirect dance followed by hand.
 */

let op: TestOP
let server: TestServer
let close: () => Promise<void>

beforeAll(async () => {
  ;({ op, server, close } = await startServerWithOP())
})
afterAll(() => close?.())

let accounts = 0
function newAccount(): TestAccount {
  accounts++
  const tag = `${process.pid.toString(36)}${accounts}${Math.random().toString(36).slice(2, 6)}`
  return { sub: `cli-${tag}`, email: `cli_${tag}@example.com`, email_verified: true, name: 'Client Person' }
}

/** A cookie-mode client in Node whose fetch keeps the browser's cookies and sends its Origin, as a page's would. */
function browserClient(browser: RedirectBrowser, proofs: string[] = []): TokenpairClient {
  return createClient({
    baseUrl: server.url,
    mode: 'cookie',
    dpop: true,
    crossTab: false,
    fetch: async (input, init) => {
      const req = new Request(input, init)
      const url = new URL(req.url)
      const headers = new Headers(req.headers)
      const cookie = browser.cookieHeader(url)
      if (cookie) headers.set('cookie', cookie)
      if (req.method !== 'GET') headers.set('origin', server.url)
      const proof = headers.get('dpop')
      if (proof) proofs.push(proof)
      const res = await fetch(new Request(req, { headers }))
      browser.store(url, res.headers.getSetCookie())
      return res
    },
  })
}

/** Follows the start link the client made through the provider and back to the callback; returns where it sends the page. */
async function followStart(browser: RedirectBrowser, start: string): Promise<URL> {
  let passed = false
  const hops = await browser.follow(start, {
    stopAt: (next) => {
      if (passed) return true
      passed = isCallbackOf(server.url, next)
      return false
    },
  })
  return hops.at(-1)!.location!
}

/** The access and refresh cookies, sent from somewhere without the key. */
function stolenCookies(browser: RedirectBrowser) {
  return {
    access: browser.cookie(server.url, 'accessToken')!,
    refresh: browser.cookie(server.url, 'refreshToken')!,
  }
}

describe('client.providers', () => {
  it('lists the providers and builds the start link with returnTo, link and the key’s thumbprint', async () => {
    const client = browserClient(new RedirectBrowser())
    expect(await client.providers.list()).toEqual([{ name: 'corp', label: 'Corp' }])
    const start = new URL(await client.providers.startURL('corp', { returnTo: '/notes', link: true }))
    expect(`${start.origin}${start.pathname}`).toBe(`${server.url}/auth/oidc/corp/start`)
    expect(start.searchParams.get('returnTo')).toBe('/notes')
    expect(start.searchParams.get('link')).toBe('1')
    expect(start.searchParams.get('dpop_jkt')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const plain = createClient({ baseUrl: server.url, mode: 'cookie', crossTab: false })
    expect(new URL(await plain.providers.startURL('corp')).searchParams.has('dpop_jkt')).toBe(false)
    client.close()
    plain.close()
  })

  it('opens a session bound to the client’s key: its tokens are refused without a proof', async () => {
    const browser = new RedirectBrowser()
    const proofs: string[] = []
    const client = browserClient(browser, proofs)
    const start = await client.providers.startURL('corp', { returnTo: '/home' })
    const jkt = new URL(start).searchParams.get('dpop_jkt')
    op.signInAs(newAccount())
    const back = await followStart(browser, start)
    expect(back.href).toBe(`${server.url}/home`)
    const { access, refresh } = stolenCookies(browser)
    expect(claimsOf(access).cnf).toEqual({ jkt })

    // The page, with its key, is signed in; its proofs are by the key the link named.
    const user = await client.providers.completeSignIn(back)
    expect(user.email).toMatch(/^cli_/)
    const signer = decodeProtectedHeader(proofs.at(-1)!).jwk as JWK
    expect(await calculateJwkThumbprint(signer)).toBe(jkt)

    // The same cookies without the key: the access token and the refresh token are refused.
    const me = await request(`${server.url}/auth/me`, { headers: { cookie: `accessToken=${access}` } })
    expect([me.status, me.body.code]).toEqual([401, 'invalid_dpop_proof'])
    const stolen = await request(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${refresh}`, origin: server.url },
    })
    expect([stolen.status, stolen.body.code]).toEqual([401, 'invalid_dpop_proof'])
    // The refresh token was not consumed by the refusal: the page still refreshes.
    await expect(client.refresh()).resolves.toBeUndefined()
    expect(claimsOf(browser.cookie(server.url, 'accessToken')!).cnf).toEqual({ jkt })
    client.close()
  })

  it('reads the login ticket of a user with TOTP, and verifyMFA opens the bound session', async () => {
    // The account and its TOTP, made through a first sign-in of its own.
    const account = newAccount()
    op.signInAs(account)
    const first = await danceToCallback(server.url)
    const headers = {
      cookie: `accessToken=${first.browser.cookie(server.url, 'accessToken')}`,
      origin: server.url,
    }
    const { secret } = await turnOnTOTP(server.url, headers)

    const browser = new RedirectBrowser()
    const client = browserClient(browser)
    const start = await client.providers.startURL('corp')
    op.signInAs(account)
    const back = await followStart(browser, start)
    expect(browser.cookie(server.url, 'accessToken')).toBeUndefined()
    const error = await client.providers.completeSignIn(back).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MFARequiredError)
    const { mfaToken, methods } = error as MFARequiredError
    expect(methods).toEqual(['totp', 'recovery_code'])
    const user = await client.verifyMFA({ mfaToken, code: totpCode(secret, Date.now() + 30_000) })
    expect(user.email).toBe(account.email)
    const claims = claimsOf(browser.cookie(server.url, 'accessToken')!)
    expect(claims.amr).toEqual(['fed', 'otp', 'mfa'])
    expect(claims.cnf).toEqual({ jkt: new URL(start).searchParams.get('dpop_jkt') })
    client.close()
  })
})
