import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Secret, TOTP } from 'otpauth'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server/start-server.js'
import { newUser } from '../helpers/http.js'
import { registerWithTOTP } from '../helpers/mfa.js'
import { launchBrowser, startReadyServer } from './browser.js'

/*
 * The factor flows of the demo page in Chromium: passkeys through the browser's own WebAuthn with a
 * CDP virtual authenticator (resident keys, user verification), and TOTP with codes computed here.
 * The page is opened at http://localhost:PORT: WebAuthn needs a secure context and a domain for
 * the RP ID (an IP address is none), and the server takes `localhost`, a loopback host, as its RP ID.
 */

/*
 * The README's pictures of the factor flows are taken here; as in demo-page.test.ts they are written
 * to docs/screenshots only with UPDATE_SCREENSHOTS=1, else to a temporary folder.
 */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '..', '..', 'docs', 'screenshots')
    : mkdtempSync(join(tmpdir(), 'tokenpair-screenshots-'))

/** The card of the page titled by `titleId`, for a picture. */
const card = (page: Page, titleId: string) => page.locator(`section[aria-labelledby="${titleId}"]`)

let browser: Browser
let server: RunningServer
let dataDir: string
/** The demo page's origin. */
let origin: string
/** A plain page of another origin under the same RP ID (another port of localhost). */
let foreign: Server
let foreignOrigin: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-factors-'))
  foreign = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>another site</title>')
  })
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve))
  foreignOrigin = `http://localhost:${(foreign.address() as AddressInfo).port}`
  ;[browser, server] = await Promise.all([launchBrowser(), startReadyServer(dataDir)])
  origin = server.url.replace('127.0.0.1', 'localhost')
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await new Promise((resolve) => foreign?.close(resolve))
  rmSync(dataDir, { recursive: true, force: true })
  expect(cspViolations).toEqual([])
})

/** A user-verifying platform authenticator with resident keys, as a phone or a laptop has. */
async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  })
  return { cdp, authenticatorId }
}

/** Content-Security-Policy violations the pages reported: the factor views must cause none. */
const cspViolations: string[] = []

async function openDemo(context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  await page.setViewportSize({ width: 1280, height: 900 })
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
  })
  await page.goto(`${origin}/`)
  await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
  return page
}

/** Registers `user` on the page and waits until the signed-in view is drawn. */
async function registerOnPage(page: Page, user: ReturnType<typeof newUser>): Promise<void> {
  await page.fill('#register-username', user.username)
  await page.fill('#register-email', user.email)
  await page.fill('#register-fullname', user.fullname)
  await page.fill('#register-password', user.password)
  await page.press('#register-password', 'Enter')
  await signedIn(page, user.username)
}

async function signedIn(page: Page, username: string): Promise<void> {
  await page.locator('[data-view="signed-in"]').waitFor({ state: 'visible' })
  await expect.poll(() => page.textContent('#profile-username')).toBe(username)
  // The sign-in's last step moves the focus to the profile: everything else is drawn by then.
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('profile-title')
}

async function logOut(page: Page): Promise<void> {
  await page.click('#logout')
  await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
  await expect.poll(() => page.textContent('#status')).toBe('Logged out.')
}

/** Adds a passkey on the signed-in page, re-authenticating with the password. */
async function addPasskeyOnPage(page: Page, password: string, name: string): Promise<void> {
  await page.fill('#factor-password', password)
  await page.fill('#passkey-name', name)
  await page.click('#passkey-add')
  await expect.poll(() => page.textContent('#status')).toBe(`Passkey "${name}" added.`)
  await expect.poll(() => page.locator('#passkeys li').count()).toBe(1)
}

/**
 * The assertion the browser makes at the page's origin for `options` (the `options` of `POST
 * /auth/passkeys/login/options`), encoded as @simplewebauthn/browser would send it.
 */
function assertInPage(page: Page, options: Record<string, unknown>): Promise<Record<string, unknown>> {
  return page.evaluate(async (opts) => {
    const fromB64url = (s: string) =>
      Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
    const toB64url = (b: ArrayBuffer) =>
      btoa(String.fromCharCode(...new Uint8Array(b)))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '')
    const credential = (await navigator.credentials.get({
      publicKey: {
        challenge: fromB64url(opts.challenge as string),
        rpId: opts.rpId as string,
        userVerification: 'preferred',
        timeout: 10_000,
        allowCredentials: [],
      },
    })) as PublicKeyCredential
    const response = credential.response as AuthenticatorAssertionResponse
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: {},
      response: {
        clientDataJSON: toB64url(response.clientDataJSON),
        authenticatorData: toB64url(response.authenticatorData),
        signature: toB64url(response.signature),
        ...(response.userHandle ? { userHandle: toB64url(response.userHandle) } : {}),
      },
    }
  }, options)
}

/** One passkey login over HTTP with an assertion `page` makes: the status and error code. */
async function relayPasskeyLogin(page: Page): Promise<{ status: number; code: string | undefined }> {
  const begin = await fetch(`${origin}/auth/passkeys/login/options`, { method: 'POST' })
  expect(begin.status).toBe(200)
  const { challengeId, options } = (await begin.json()).data
  const response = await assertInPage(page, options)
  const res = await fetch(`${origin}/auth/passkeys/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
    body: JSON.stringify({ challengeId, response }),
  })
  return { status: res.status, code: (await res.json()).code }
}

describe('passkeys on the demo page (Chromium, virtual authenticator)', () => {
  it('registers a passkey, logs out, and logs in with it without typing a name', async () => {
    const context = await browser.newContext()
    const page = await openDemo(context)
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page)
    const user = newUser()
    await registerOnPage(page, user)
    await addPasskeyOnPage(page, user.password, 'Laptop')

    // A discoverable credential, on the authenticator, for the RP ID localhost and this user.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' })
    expect(credentials[0]!.userHandle).toBeTruthy()
    const signCount = credentials[0]!.signCount

    await logOut(page)
    // No name typed: the login form stays empty, the authenticator offers its resident credential.
    expect(await page.inputValue('#login-name')).toBe('')
    await page.click('#passkey-login')
    await signedIn(page, user.username)
    await expect.poll(() => page.textContent('#activity')).toContain('Logged in with a passkey')

    // The server counted the use: the passkey shows a last use, the authenticator a higher count.
    await expect.poll(() => page.textContent('#passkeys li')).toContain('Last used')
    await card(page, 'passkeys-title').screenshot({ path: join(SCREENSHOTS, 'factor-passkeys.png') })
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(after.credentials[0]!.signCount).toBeGreaterThan(signCount)
    await context.close()
  })

  it('refuses an assertion made on another origin (401 invalid_credentials), and takes the same from its own', async () => {
    const context = await browser.newContext()
    const page = await openDemo(context)
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page)
    const user = newUser()
    await registerOnPage(page, user)
    await addPasskeyOnPage(page, user.password, 'Phone')
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })

    // Another site under the same RP ID (another port of localhost): the browser signs there, as a
    // relaying page would have it do, with that page's origin in clientDataJSON.
    const other = await context.newPage()
    await other.goto(`${foreignOrigin}/`)
    const elsewhere = await addVirtualAuthenticator(other)
    await elsewhere.cdp.send('WebAuthn.addCredential', {
      authenticatorId: elsewhere.authenticatorId,
      credential: credentials[0]!,
    })
    expect(await relayPasskeyLogin(other)).toEqual({ status: 401, code: 'invalid_credentials' })

    // The same credential and the same relay from the demo page's own origin pass: what the server
    // refused above was the origin.
    expect(await relayPasskeyLogin(page)).toEqual({ status: 200, code: undefined })
    await context.close()
  })
})

describe('TOTP on the demo page (Chromium)', () => {
  const totpOf = (secret: string) =>
    new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 })
  const stepAt = (ms: number) => Math.floor(ms / 30_000)

  it('turns TOTP on with its QR code, then logs in with the password and a computed code', async () => {
    const context = await browser.newContext()
    const page = await openDemo(context)
    const user = newUser()
    await registerOnPage(page, user)
    await expect.poll(() => page.textContent('#totp-state')).toBe('off')

    await page.fill('#factor-password', user.password)
    await page.click('#totp-start')
    await page.locator('#totp-setup').waitFor({ state: 'visible' })
    // The QR code is an inline SVG the server drew: no image from anywhere else.
    expect(await page.locator('#totp-qr svg').count()).toBe(1)
    const secret = (await page.textContent('#totp-secret'))!.trim()
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    await card(page, 'totp-title').screenshot({ path: join(SCREENSHOTS, 'factor-totp-setup.png') })

    const totp = totpOf(secret)
    const confirmedAt = Date.now()
    await page.fill('#totp-code', totp.generate({ timestamp: confirmedAt }))
    await page.press('#totp-code', 'Enter')
    await expect.poll(() => page.textContent('#totp-state')).toBe('on')
    await expect.poll(() => page.locator('#recovery-codes li').count()).toBe(10)
    expect(await page.locator('#totp-setup').isHidden()).toBe(true)
    await card(page, 'totp-title').screenshot({ path: join(SCREENSHOTS, 'factor-recovery-codes.png') })

    await logOut(page)
    await page.fill('#login-name', user.username)
    await page.fill('#login-password', user.password)
    await page.press('#login-password', 'Enter')
    await page.locator('[data-view="mfa"]').waitFor({ state: 'visible' })
    await expect.poll(() => page.textContent('#status')).toBe('Enter a code to finish logging in.')
    await page.screenshot({
      path: join(SCREENSHOTS, 'factor-login-code.png'),
      clip: { x: 0, y: 0, width: 1280, height: 480 },
    })

    // The confirm used up its step (and every earlier one): the next code is one of a later step,
    // which the server takes within its one step of tolerance.
    const step = Math.max(stepAt(confirmedAt) + 1, stepAt(Date.now()))
    await page.fill('#mfa-code', totp.generate({ timestamp: step * 30_000 }))
    await page.press('#mfa-code', 'Enter')
    await signedIn(page, user.username)
    await expect.poll(() => page.textContent('#activity')).toContain('Logged in with a second factor')
    await context.close()
  })

  it('turns TOTP off with a recovery code: the other sessions end, and the page draws the list again', async () => {
    // A user with TOTP on and a session elsewhere (the registration's, in bearer mode).
    const user = await registerWithTOTP(server.url)
    const confirmedAt = Date.now()
    const context = await browser.newContext()
    const page = await openDemo(context)
    await page.fill('#login-name', user.username)
    await page.fill('#login-password', user.password)
    await page.press('#login-password', 'Enter')
    await page.locator('[data-view="mfa"]').waitFor({ state: 'visible' })
    const step = Math.max(stepAt(confirmedAt) + 1, stepAt(Date.now()))
    await page.fill('#mfa-code', totpOf(user.secret).generate({ timestamp: step * 30_000 }))
    await page.press('#mfa-code', 'Enter')
    await signedIn(page, user.username)
    await expect.poll(() => page.locator('#sessions li').count()).toBe(2)

    await page.fill('#factor-password', user.password)
    await page.fill('#totp-disable-code', user.recoveryCodes[0]!)
    await page.press('#totp-disable-code', 'Enter')
    await expect
      .poll(() => page.textContent('#status'))
      .toBe('TOTP is off; your other sessions were signed out.')
    await expect.poll(() => page.textContent('#totp-state')).toBe('off')
    await expect.poll(() => page.locator('#sessions li').count()).toBe(1)
    expect(await page.textContent('#sessions li')).toContain('(this device)')
    expect(await page.inputValue('#factor-password')).toBe('')
    const refused = await fetch(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
      body: JSON.stringify({ refreshToken: user.refreshToken }),
    })
    expect([refused.status, (await refused.json()).code]).toEqual([401, 'invalid_refresh_token'])
    await context.close()
  })
})
