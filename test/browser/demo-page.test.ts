import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readServerConfig } from '../../src/config/env.js'
import type { RunningServer } from '../../src/server/start-server.js'
import { newUser } from '../helpers/http.js'
import { launchBrowser, sleep, startReadyServer } from './browser.js'

/*
 * The README's pictures are taken here. They are rewritten in docs/ only when UPDATE_SCREENSHOTS=1,
 * so that an ordinary test run leaves the work tree clean; otherwise they go to a temporary folder.
 */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '..', '..', 'docs', 'screenshots')
    : mkdtempSync(join(tmpdir(), 'tokenpair-screenshots-'))

/** Presses Tab until `selector` has focus (at most `limit` times): proof it is reachable by keyboard. */
async function tabTo(page: Page, selector: string, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab')
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return
  }
  throw new Error(`${selector} not reached with ${limit} presses of Tab`)
}

/**
 * Waits until a sign-in has finished on the page: it moves the focus to the profile's heading as its
 * last step, after the sessions and the linked providers are drawn. Tabbing before that would race it.
 */
async function signInSettled(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('profile-title')
}

/** Fills the focused field and moves on, by keyboard only. */
async function typeAndTab(page: Page, text: string): Promise<void> {
  await page.keyboard.type(text)
  await page.keyboard.press('Tab')
}

/** The focus ring of the focused element: it must be visible. */
function focusOutline(page: Page): Promise<string> {
  return page.evaluate(() => {
    const style = getComputedStyle(document.activeElement as Element)
    return `${style.outlineStyle} ${style.outlineWidth}`
  })
}

function readMailLink(outbox: string, email: string, page: 'reset-password' | 'verify-email'): string {
  for (const file of readdirSync(outbox)) {
    // Quoted-printable: join soft line breaks and decode `=3D` before looking for the link.
    const text = readFileSync(join(outbox, file), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/gi, '=')
    if (!text.includes(email)) continue
    const link = new RegExp(`https?://[^\\s"<>]+/${page}\\?token=[A-Za-z0-9_-]+`).exec(text)
    if (link) return link[0]
  }
  throw new Error(`no ${page} mail in the outbox`)
}

describe('demo page (the ready server, in Chromium)', () => {
  let browser: Browser
  let server: RunningServer
  let dataDir: string
  const cspViolations: string[] = []

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-demo-'))
    // A three-second access token, so that a silent refresh shows up within the test.
    ;[browser, server] = await Promise.all([
      launchBrowser(),
      startReadyServer(dataDir, { ACCESS_TOKEN_TTL: '3s' }),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves the page with a strict Content-Security-Policy and no inline code', async () => {
    const res = await fetch(`${server.url}/`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("frame-ancestors 'none'")
    const html = await res.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i)
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
    for (const path of ['/reset-password', '/verify-email']) {
      expect((await fetch(`${server.url}${path}?token=abc`)).headers.get('content-security-policy')).toBe(csp)
    }
  })

  it('works by keyboard alone: register, profile, sessions, silent refresh, log out everywhere', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
    })
    await page.goto(`${server.url}/`)
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })

    const user = newUser()
    await tabTo(page, '#register-username')
    expect(await focusOutline(page)).toMatch(/^solid [1-9]/)
    await typeAndTab(page, user.username)
    await typeAndTab(page, user.email)
    await typeAndTab(page, user.fullname)
    await page.keyboard.type(user.password)
    await page.keyboard.press('Enter')

    await page.locator('[data-view="signed-in"]').waitFor({ state: 'visible' })
    await signInSettled(page)
    await expect.poll(() => page.textContent('#profile-username')).toBe(user.username)
    expect(await page.textContent('#profile-email')).toBe(user.email)
    const sessions = page.locator('#sessions li')
    await expect.poll(() => sessions.count()).toBe(1)
    expect(await sessions.first().textContent()).toContain('(this device)')
    await expect.poll(() => page.textContent('#token-remaining')).toMatch(/^\d+ s$/)
    // The silent refresh, as it happens (at about 80% of the token's three seconds).
    await page.getByText(/Silent refresh by this tab/).waitFor({ timeout: 6_000 })
    expect(cspViolations).toEqual([])

    await page.screenshot({ path: join(SCREENSHOTS, 'demo-desktop.png') })
    await page.setViewportSize({ width: 390, height: 844 })
    await sleep(100)
    await page.screenshot({ path: join(SCREENSHOTS, 'demo-phone.png') })
    // Responsive: nothing wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await page.setViewportSize({ width: 1280, height: 800 })

    await tabTo(page, '#logout-all')
    expect(await focusOutline(page)).toMatch(/^solid [1-9]/)
    await page.keyboard.press('Enter')
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    expect(await page.textContent('#status')).toMatch(/Logged out of 1 session/)
    // Really signed out: a reload lands on the login form.
    await page.reload()
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    await context.close()
  })

  it('logs in, lists two devices, revokes the other one and logs out by keyboard', async () => {
    const user = newUser()
    // The other device: any client will do.
    const registered = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-auth-mode': 'bearer',
        'user-agent': 'other-device/1.0',
      },
      body: JSON.stringify(user),
    })
    expect(registered.status).toBe(201)

    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/`)
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    await tabTo(page, '#login-name')
    await typeAndTab(page, user.username)
    await page.keyboard.type(user.password)
    await page.keyboard.press('Enter')
    await signInSettled(page)
    const sessions = page.locator('#sessions li')
    await expect.poll(() => sessions.count()).toBe(2)
    expect(await page.locator('#sessions li', { hasText: '(this device)' }).count()).toBe(1)

    // Revoke the other device: its Revoke button is the one not on "this device".
    const otherRevoke = page.locator('#sessions li', { hasNotText: '(this device)' }).getByRole('button')
    await tabTo(page, `#sessions li:not(:has(.this-device)) button`)
    expect(await otherRevoke.evaluate((b) => b === document.activeElement)).toBe(true)
    await page.keyboard.press('Enter')
    await expect.poll(() => sessions.count()).toBe(1)

    await tabTo(page, '#logout')
    await page.keyboard.press('Enter')
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    expect(await page.textContent('#status')).toBe('Logged out.')
    await context.close()
  })

  it('resets a forgotten password through the mailed link', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const user = newUser()
    const registered = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
      body: JSON.stringify(user),
    })
    expect(registered.status).toBe(201)
    await page.goto(`${server.url}/`)
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    await tabTo(page, '#forgot-link')
    await page.keyboard.press('Enter')
    await page.locator('[data-view="forgot"]').waitFor({ state: 'visible' })
    await page.keyboard.type(user.email)
    await page.keyboard.press('Enter')
    await expect.poll(() => page.textContent('#status')).toMatch(/reset link is on its way/)

    const outbox = join(dataDir, 'outbox')
    mkdirSync(outbox, { recursive: true })
    const findLink = (): string | null => {
      try {
        return readMailLink(outbox, user.email, 'reset-password')
      } catch {
        return null
      }
    }
    await expect.poll(findLink, { timeout: 5_000 }).not.toBeNull()
    const link = new URL(findLink()!)
    await page.goto(`${server.url}${link.pathname}${link.search}`)
    await page.locator('[data-view="reset"]').waitFor({ state: 'visible' })
    // The token leaves the address bar at once.
    expect(page.url()).toBe(`${server.url}/reset-password`)
    await page.keyboard.type('a brand new password')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.textContent('#status')).toMatch(/Password changed/)

    await tabTo(page, '#login-name')
    await typeAndTab(page, user.email)
    await page.keyboard.type('a brand new password')
    await page.keyboard.press('Enter')
    await page.locator('[data-view="signed-in"]').waitFor({ state: 'visible' })
    await context.close()
  })

  it('confirms an email address through the mailed link, and marks it verified', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/`)
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    const user = newUser()
    await page.fill('#register-username', user.username)
    await page.fill('#register-email', user.email)
    await page.fill('#register-fullname', user.fullname)
    await page.fill('#register-password', user.password)
    await page.press('#register-password', 'Enter')
    await expect.poll(() => page.textContent('#profile-verified')).toBe('not verified')

    const outbox = join(dataDir, 'outbox')
    const findLink = (): string | null => {
      try {
        return readMailLink(outbox, user.email, 'verify-email')
      } catch {
        return null
      }
    }
    await expect.poll(findLink, { timeout: 5_000 }).not.toBeNull()
    const link = new URL(findLink()!)
    await page.goto(`${server.url}${link.pathname}${link.search}`)
    await page.locator('[data-view="verify"]').waitFor({ state: 'visible' })
    expect(page.url()).toBe(`${server.url}/verify-email`)
    await tabTo(page, '#verify-form button')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.textContent('#status')).toMatch(/confirmed/)
    await expect.poll(() => page.textContent('#profile-verified')).toBe('verified')
    await context.close()
  })

  it('turns the page off with DEMO_PAGE=false but still serves the client script', async () => {
    const off = await startReadyServer(dataDir, { DEMO_PAGE: 'false' })
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(404)
      expect((await fetch(`${off.url}/demo.js`)).status).toBe(404)
      expect((await fetch(`${off.url}/tokenpair-client.js`)).status).toBe(200)
    } finally {
      await off.stop()
    }
    expect(readServerConfig({}).demoPage).toBe(true)
    expect(() => readServerConfig({ DEMO_PAGE: 'maybe' })).toThrow(/DEMO_PAGE/)
  })
})
