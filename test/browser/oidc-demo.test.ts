import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../../src/auth.js'
import { createServerApp } from '../../src/server/app.js'
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
    // The provider is the account's only way in: unlinking it is refused, and the page says why.
    await page.getByRole('button', { name: 'Unlink Corp SSO' }).click()
    await page.locator('#status', { hasText: /only way into the account/ }).waitFor()
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
