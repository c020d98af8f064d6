import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ClientSession, ClientUser, TokenpairClient } from '../../src/client/index.js'
import { newUser } from '../helpers/http.js'
import { serve } from '../helpers/serve.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { countRequests, isRefreshOf, launchBrowser, openClientPage, sleep } from './browser.js'

/** What `openClientPage` leaves on `window`. */
interface ClientWindow {
  client: TokenpairClient
  ended: string[]
  refreshes: string[]
}

async function registerIn(page: Page): Promise<ClientUser & { password: string }> {
  const user = newUser()
  const created = await page.evaluate((u) => (window as unknown as ClientWindow).client.register(u), user)
  return { ...created, password: user.password }
}

/**
 * Waits until the page's access token has expired, plus a margin. Browser and server share this
 * machine's clock, so the exact expiry is used rather than the client's skew-corrected estimate.
 */
async function waitForExpiry(page: Page): Promise<void> {
  const expiresAt = await page.evaluate(() =>
    (window as unknown as ClientWindow).client.getAccessTokenExpiresAt()?.getTime(),
  )
  if (expiresAt === undefined) throw new Error('the page knows no expiry')
  await sleep(Math.max(0, expiresAt - Date.now()) + 250)
}

describe('tokenpair/client in Chromium (cookie mode)', () => {
  let browser: Browser
  let server: TestServer
  const contexts: BrowserContext[] = []
  const newContext = async () => {
    // The harness page is `/healthz`, whose policy (rightly) allows no script; what is under test
    // here is the client, so the harness lifts CSP. The demo page's own policy is tested as is.
    const context = await browser.newContext({ bypassCSP: true })
    contexts.push(context)
    return context
  }

  beforeAll(async () => {
    // A two-second access token with no clock tolerance: expiry is real, and quick to reach.
    ;[browser, server] = await Promise.all([
      launchBrowser(),
      startTestServer({ accessTokenTtl: '2s', clockTolerance: 0 }),
    ])
  })
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('serves the client as an ES module and keeps both tokens out of reach of script', async () => {
    const res = await fetch(`${server.url}/tokenpair-client.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await res.text()).toMatch(/export\s*\{[^}]*createClient/)

    const context = await newContext()
    const page = await openClientPage(context, server.url)
    const user = await registerIn(page)
    expect(await page.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id))).toBe(
      user.id,
    )
    // The browser holds both cookies (so the check below can fail)...
    const cookies = await context.cookies(server.url)
    const names = cookies.map((c) => c.name)
    expect(cookies.find((c) => c.name === 'accessToken')).toMatchObject({ httpOnly: true, secure: true })
    expect(names).toContain('accessToken')
    // ...the refresh cookie only for the auth routes, so it is checked there.
    const refreshCookie = (await context.cookies(`${server.url}/auth/refresh`)).find(
      (c) => c.name === 'refreshToken',
    )
    expect(refreshCookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' })
    // ...and script sees neither, not even on a page under /auth.
    expect(await page.evaluate(() => document.cookie)).toBe('')
    await page.goto(`${server.url}/auth/me`)
    expect(await page.evaluate(() => document.cookie)).toBe('')
  })

  it('sends exactly one refresh for ten parallel requests after expiry, and all succeed', async () => {
    const context = await newContext()
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const refused = countRequests(context, () => false)
    const statuses: number[] = []
    context.on('response', (r) => {
      if (new URL(r.url()).pathname === '/auth/me') statuses.push(r.status())
    })
    const page = await openClientPage(context, server.url, { proactiveRefresh: false })
    const user = await registerIn(page)
    await waitForExpiry(page)
    refreshes.reset()
    refused.reset()
    statuses.length = 0

    const ids = await page.evaluate(() =>
      Promise.all(
        Array.from({ length: 10 }, () =>
          (window as unknown as ClientWindow).client
            .fetch('/auth/me')
            .then((r) => r.json())
            .then((b: { data: { id: string } }) => b.data.id),
        ),
      ),
    )
    expect(ids).toEqual(Array(10).fill(user.id))
    expect(refreshes.count).toBe(1)
    // They raced: several met the expired token before the one refresh (Chromium opens six
    // connections per host, so a request queued behind them may leave with the new cookie), and
    // every one ended in a success.
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(2)
    expect(statuses.filter((s) => s === 200)).toHaveLength(10)
    expect(statuses).toHaveLength(10 + statuses.filter((s) => s === 401).length)
  })

  it('sends one refresh for two tabs whose token expires together', async () => {
    const context = await newContext()
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const one = await openClientPage(context, server.url, { proactiveRefresh: false })
    const user = await registerIn(one)
    const two = await openClientPage(context, server.url, { proactiveRefresh: false })
    // The second tab learnt the expiry from the first (nothing secret crosses tabs).
    expect(
      await two.evaluate(() =>
        (window as unknown as ClientWindow).client.getAccessTokenExpiresAt()?.toISOString(),
      ),
    ).toBe(
      await one.evaluate(() =>
        (window as unknown as ClientWindow).client.getAccessTokenExpiresAt()?.toISOString(),
      ),
    )
    await waitForExpiry(one)
    refreshes.reset()

    const burst = (page: Page) =>
      page.evaluate(() =>
        Promise.all([1, 2, 3].map(() => (window as unknown as ClientWindow).client.me().then((u) => u.id))),
      )
    const [a, b] = await Promise.all([burst(one), burst(two)])
    expect([...a, ...b]).toEqual(Array(6).fill(user.id))
    expect(refreshes.count).toBe(1)
    const sources = [
      ...(await one.evaluate(() => (window as unknown as ClientWindow).refreshes)),
      ...(await two.evaluate(() => (window as unknown as ClientWindow).refreshes)),
    ].sort()
    expect(sources).toEqual(['other_tab', 'this_tab'])
  })

  it('still sends one refresh across two tabs without Web Locks or BroadcastChannel', async () => {
    const context = await newContext()
    // A browser with neither API: the localStorage lease must do the job alone.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true })
      Object.defineProperty(window, 'BroadcastChannel', { value: undefined, configurable: true })
    })
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const one = await openClientPage(context, server.url, { proactiveRefresh: false })
    expect(await one.evaluate(() => [typeof navigator.locks, typeof BroadcastChannel])).toEqual([
      'undefined',
      'undefined',
    ])
    const user = await registerIn(one)
    const two = await openClientPage(context, server.url, { proactiveRefresh: false })
    await waitForExpiry(one)
    refreshes.reset()
    const [a, b] = await Promise.all([
      one.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id)),
      two.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id)),
    ])
    expect([a, b]).toEqual([user.id, user.id])
    expect(refreshes.count).toBe(1)
  })

  it('does not let a stuck tab that holds the refresh lock stall the others for longer than the bound', async () => {
    const context = await newContext()
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const page = await openClientPage(context, server.url, { proactiveRefresh: false, lockTimeoutMs: 1_000 })
    const user = await registerIn(page)
    // Another tab takes the client's lock and never lets go (a tab frozen mid-refresh).
    const stuck = await context.newPage()
    await stuck.goto(`${server.url}/healthz`)
    await stuck.evaluate(
      (name) =>
        new Promise<void>((granted) => {
          void navigator.locks.request(name, () => {
            granted()
            return new Promise(() => {})
          })
        }),
      `tokenpair:${server.url}/auth`,
    )
    expect(await page.evaluate(() => navigator.locks.query().then((q) => q.held?.length))).toBe(1)
    await waitForExpiry(page)
    refreshes.reset()
    const started = Date.now()
    expect(await page.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id))).toBe(
      user.id,
    )
    const waited = Date.now() - started
    expect(refreshes.count).toBe(1)
    expect(waited).toBeGreaterThanOrEqual(900)
    expect(waited).toBeLessThan(5_000)
  })

  it('refreshes ahead of expiry in a visible tab, and waits in a background tab until it is shown', async () => {
    const context = await newContext()
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const page = await openClientPage(context, server.url)
    // Hide this tab the way the browser reports it: visibilityState and a visibilitychange event.
    await page.evaluate(() => {
      const state = { value: 'visible' }
      Object.defineProperty(document, 'visibilityState', { get: () => state.value, configurable: true })
      ;(window as unknown as { setVisibility: (v: string) => void }).setVisibility = (v: string) => {
        state.value = v
        document.dispatchEvent(new Event('visibilitychange'))
      }
    })
    await registerIn(page)
    // Visible: the proactive refresh comes before expiry, with no request refused.
    await expect.poll(() => refreshes.count, { timeout: 4_000 }).toBe(1)
    const ahead = await page.evaluate(() =>
      (window as unknown as ClientWindow).client.getAccessTokenRemainingMs(),
    )
    expect(ahead).toBeGreaterThan(0)

    await page.evaluate(() =>
      (window as unknown as { setVisibility: (v: string) => void }).setVisibility('hidden'),
    )
    refreshes.reset()
    await waitForExpiry(page)
    expect(refreshes.count).toBe(0)
    await page.evaluate(() =>
      (window as unknown as { setVisibility: (v: string) => void }).setVisibility('visible'),
    )
    await expect
      .poll(() => page.evaluate(() => (window as unknown as ClientWindow).refreshes), { timeout: 2_000 })
      .toEqual(['this_tab', 'this_tab'])
    expect(refreshes.count).toBe(1)
  })

  it('refuses a page of another local origin that tries to log the user out or refresh (CSRF)', async () => {
    const evil = await serve((_req, res) => {
      res.setHeader('content-type', 'text/html')
      res.end('<!doctype html><title>elsewhere</title><p>another origin</p>')
    })
    try {
      const evilUrl = evil.url
      const context = await newContext()
      const page = await openClientPage(context, server.url)
      const user = await registerIn(page)
      // What the server answered, seen at its socket (the attacker page may not see the answers).
      const statuses: string[] = []
      const observe = (req: IncomingMessage, res: ServerResponse) => {
        // Express strips the mount path from `url` and keeps the full one in `originalUrl`.
        const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url
        res.on('finish', () => statuses.push(`${req.method} ${path} ${res.statusCode}`))
      }
      server.server.on('request', observe)

      const attacker = await context.newPage()
      await attacker.goto(evilUrl)
      // Same site (127.0.0.1 on another port), so SameSite lets the cookies go: only the
      // server's Origin check stands in the way.
      await attacker.evaluate(async (target) => {
        for (const path of ['/auth/logout', '/auth/refresh', '/auth/logout-all']) {
          // The answer may be withheld from this page (CORP); the request has gone all the same.
          await fetch(`${target}${path}`, { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(
            () => null,
          )
        }
      }, server.url)
      // A plain form post too: the classic CSRF.
      await attacker.setContent(
        `<form method="post" action="${server.url}/auth/logout"><button>go</button></form>`,
      )
      await Promise.all([attacker.waitForEvent('load'), attacker.click('button')])
      // 403 csrf_rejected (not 200 or 401) also proves the cookies were sent and refused.
      expect(statuses).toEqual([
        'POST /auth/logout 403',
        'POST /auth/refresh 403',
        'POST /auth/logout-all 403',
        'POST /auth/logout 403',
      ])
      expect(await attacker.evaluate(() => document.body.textContent)).toContain('csrf_rejected')

      // The session is intact.
      const sessions = await page.evaluate(() => (window as unknown as ClientWindow).client.sessions())
      expect(sessions.map((s: ClientSession) => s.current)).toEqual([true])
      expect(
        await page.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id)),
      ).toBe(user.id)
      server.server.off('request', observe)
    } finally {
      await evil.close()
    }
  })

  it('ends the session of one device on its next request after another device revoked it', async () => {
    const laptop = await openClientPage(await newContext(), server.url)
    const user = await registerIn(laptop)
    const phone = await openClientPage(await newContext(), server.url, { proactiveRefresh: false })
    await phone.evaluate(
      (u) => (window as unknown as ClientWindow).client.login({ login: u.username, password: u.password }),
      user,
    )

    const sessions = await laptop.evaluate(() => (window as unknown as ClientWindow).client.sessions())
    expect(sessions).toHaveLength(2)
    const phoneSession = sessions.find((s: ClientSession) => !s.current)!
    await laptop.evaluate(
      (id) => (window as unknown as ClientWindow).client.revokeSession(id),
      phoneSession.id,
    )

    // The phone's access token is valid until it expires; its next request after that fails
    // with a typed error, and the session ends, once.
    await waitForExpiry(phone)
    const outcome = await phone.evaluate(() =>
      (window as unknown as ClientWindow).client.me().then(
        () => 'signed in',
        (e: { name: string; code: string }) => `${e.name} ${e.code}`,
      ),
    )
    expect(outcome).toBe('SessionEndedError invalid_refresh_token')
    expect(await phone.evaluate(() => (window as unknown as ClientWindow).ended)).toEqual([
      'invalid_refresh_token',
    ])
    expect(await phone.evaluate(() => (window as unknown as ClientWindow).client.isSignedIn())).toBe(false)
    // The laptop is untouched.
    expect(
      await laptop.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id)),
    ).toBe(user.id)
  })
})
