import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../../src/auth.js'
import { createServerApp } from '../../src/server/app.js'
import { claimsOf, request } from '../helpers/http.js'
import { totpCode } from '../helpers/mfa.js'
import { startTestOP, type TestOP } from '../helpers/oidc-op.js'
import { type Served, serve } from '../helpers/serve.js'
import { DISCARD_MAIL, TEST_SECRET } from '../helpers/test-server.js'
import { launchBrowser } from './browser.js'

/*
 * The demo page with one identity provider configured (a real OpenID provider on loopback): a
 * person clicks its button, goes through the provider and lands back on the page, signed in, with
 * the session and the linked provider listed; then unlinks nothing they cannot (the only way in).
 */

let op: TestOP & { register(uris: string[]): Promise<void> }
let auth: Auth
let served: Served
let browser: Browser

beforeAll(async () => {
  op = await startTestOP()
  auth = await createAuth({
    database: 'sqlite::memory:',
    secret: TEST_SECRET,
    mail: { transport: DISCARD_MAIL },
    providers: {
      corp: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, label: 'Corp SSO' },
    },
  })
  served = await serve(createServerApp(auth, { demoPage: true }))
  await op.register([`${served.url}/auth/oidc/corp/callback`])
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
  await auth?.close()
  await op?.close()
})

describe('the demo page with an identity provider', () => {
  it('signs a person in through the provider and shows the session and the linked provider', async () => {
    op.signInAs({
      sub: 'demo-person',
      email: 'demo.person@example.com',
      email_verified: true,
      name: 'Demo Person',
    })
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${served.url}/`)
    const button = page.getByRole('link', { name: 'Sign in with Corp SSO' })
    await button.waitFor()
    // The link names the page's DPoP key, so that the session it opens is bound to it.
    const jkt = new URL((await button.getAttribute('href'))!, served.url).searchParams.get('dpop_jkt')
    expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
    await button.click()
    // Through the provider and back: the page signs in from the cookies the callback set.
    await page.locator('#profile-fullname', { hasText: 'Demo Person' }).waitFor()
    expect(new URL(page.url()).origin).toBe(served.url)
    expect(await page.locator('#profile-email').textContent()).toBe('demo.person@example.com')
    await page.locator('#sessions li').first().waitFor()
    expect(await page.locator('#sessions li').count()).toBe(1)
    const identity = page.locator('#identities li')
    await identity.waitFor()
    expect(await identity.textContent()).toContain('Corp SSO (demo.person@example.com)')
    // The flow cookie did not outlive the callback; the token cookies are HttpOnly.
    const cookies = await context.cookies(served.url)
    expect(cookies.find((c) => c.name === 'tokenpair_oidc')).toBeUndefined()
    expect(cookies.find((c) => c.name === 'accessToken')?.httpOnly).toBe(true)
    // Bound to the page's key: the cookies copied out to Node are refused without it...
    const access = cookies.find((c) => c.name === 'accessToken')!.value
    const refresh = (await context.cookies(`${served.url}/auth/refresh`)).find(
      (c) => c.name === 'refreshToken',
    )!.value
    expect(claimsOf(access).cnf).toEqual({ jkt })
    const me = await request(`${served.url}/auth/me`, { headers: { cookie: `accessToken=${access}` } })
    expect([me.status, me.body.code]).toEqual([401, 'invalid_dpop_proof'])
    const stolen = await request(`${served.url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${refresh}`, origin: served.url },
    })
    expect([stolen.status, stolen.body.code]).toEqual([401, 'invalid_dpop_proof'])
    // ...while the page, which holds the key, still refreshes with them.
    await page.getByRole('button', { name: 'Refresh now' }).click()
    await page.locator('#activity li', { hasText: 'Silent refresh by this tab' }).waitFor()
    // The provider is the account's only way in: unlinking it is refused, and the page says why.
    await page.getByRole('button', { name: 'Unlink Corp SSO' }).click()
    await page.locator('#status', { hasText: /only way into the account/ }).waitFor()
    await context.close()
  })

  it('asks a user with TOTP for the code after the provider, then shows the session', async () => {
    const person = {
      sub: 'demo-totp',
      email: 'demo.totp@example.com',
      email_verified: true,
      name: 'Totp Person',
    }
    op.signInAs(person)
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${served.url}/`)
    await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click()
    await page.locator('#profile-fullname', { hasText: 'Totp Person' }).waitFor()
    // TOTP on, on the page (its session is bound: only the page can use it; the recent login
    // stands in for the password the account does not have).
    await page.locator('#totp-start').click()
    const secret = (await page.locator('#totp-secret', { hasText: /^[A-Z2-7]+$/ }).textContent())!
    await page.locator('#totp-code').fill(totpCode(secret))
    await page.locator('#totp-code').press('Enter')
    await page.locator('#status', { hasText: 'TOTP is on' }).waitFor()
    await context.clearCookies()

    op.signInAs(person)
    await page.goto(`${served.url}/`)
    await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click()
    const code = page.locator('#mfa-code')
    await code.waitFor()
    // The ticket is out of the address bar; no session cookie came with it.
    expect(new URL(page.url()).hash).toBe('')
    expect((await context.cookies(served.url)).find((c) => c.name === 'accessToken')).toBeUndefined()
    await code.fill(totpCode(secret, Date.now() + 30_000))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.locator('#profile-fullname', { hasText: 'Totp Person' }).waitFor()
    const after = (await context.cookies(served.url)).find((c) => c.name === 'accessToken')!.value
    expect(claimsOf(after).amr).toEqual(['fed', 'otp', 'mfa'])
    expect(claimsOf(after).cnf).toEqual({ jkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
    await context.close()
  })

  it('shows what a failed sign-in came back with', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${served.url}/?error=account_exists`)
    await page.locator('#status', { hasText: 'An account with this address exists' }).waitFor()
    expect(new URL(page.url()).search).toBe('')
    await context.close()
  })
})
