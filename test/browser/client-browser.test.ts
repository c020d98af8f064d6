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

/** Browser APIs a context can be made to lack, to reach the client's fallbacks. */
type HiddenAPI = 'locks' | 'BroadcastChannel' | 'indexedDB'

/** Makes every page of `context` lack the named APIs, as an older browser would. */
async function hideAPIs(context: BrowserContext, names: HiddenAPI[]): Promise<void> {
  await context.addInitScript((hidden: string[]) => {
    for (const name of hidden) {
      if (name === 'locks') {
        Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true })
      } else {
        Object.defineProperty(window, name, { value: undefined, configurable: true })
      }
    }
  }, names)
}

/** Where the client keeps its lease without Web Locks (indexeddb-lease.ts). */
const LEASE_DB = { name: 'tokenpair-cross-tab', store: 'leases' }

/** A record of the client's IndexedDB store, read in `page` (`undefined` if absent). */
function readIndexedDB(page: Page, key: string): Promise<unknown> {
  return page.evaluate(
    ({ db, key }) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open(db.name)
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const connection = open.result
          const get = connection.transaction(db.store).objectStore(db.store).get(key)
          get.onsuccess = () => resolve(get.result)
          get.onerror = () => reject(get.error)
          connection.close()
        }
      }),
    { db: LEASE_DB, key },
  )
}

/** Holds every refresh request of `context` until `release()`; `arrived` settles at the first. */
async function holdRefreshes(
  context: BrowserContext,
  serverUrl: string,
): Promise<{ arrived: Promise<void>; release(): void }> {
  let arrive = () => {}
  let release = () => {}
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve
  })
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  await context.route(`${serverUrl}/auth/refresh`, async (route) => {
    arrive()
    await released
    await route.continue()
  })
  return { arrived, release }
}

/** Settles when `page` is refused `/auth/me` (its token expired): it needs a refresh now. */
function refusedMe(page: Page, serverUrl: string): Promise<unknown> {
  return page.waitForResponse((r) => r.url() === `${serverUrl}/auth/me` && r.status() === 401)
}

const me = (page: Page) =>
  page.evaluate(() => (window as unknown as ClientWindow).client.me().then((u) => u.id))

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
    // A browser with neither API: the IndexedDB lease, with the outcome in localStorage and
    // IndexedDB, must do the job alone.
    await hideAPIs(context, ['locks', 'BroadcastChannel'])
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

  it('holds the lease in IndexedDB without Web Locks, with a tab id and an expiry in it and nothing else', async () => {
    const context = await newContext()
    await hideAPIs(context, ['locks', 'BroadcastChannel'])
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const one = await openClientPage(context, server.url, { proactiveRefresh: false })
    const user = await registerIn(one)
    const two = await openClientPage(context, server.url, { proactiveRefresh: false })
    await waitForExpiry(one)
    refreshes.reset()
    const held = await holdRefreshes(context, server.url)
    const leaseKey = `tokenpair-lease:${server.url}/auth`

    // Tab one's refresh is on its way (and held there): tab one holds the lease meanwhile.
    const first = me(one)
    await held.arrived
    const lease = (await readIndexedDB(two, leaseKey)) as { tab: string; until: number }
    expect(lease).toStrictEqual({ tab: expect.any(String), until: expect.any(Number) })
    // Bounded by lockTimeoutMs (default 15 s).
    expect(lease.until).toBeGreaterThan(Date.now())
    expect(lease.until).toBeLessThanOrEqual(Date.now() + 15_000)
    // Not in localStorage, in neither tab.
    const leasesInLocalStorage = (page: Page) =>
      page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tokenpair-lease')))
    expect(await leasesInLocalStorage(one)).toEqual([])
    expect(await leasesInLocalStorage(two)).toEqual([])

    // Tab two needs a refresh now, and finds the lease taken (the outcome is the same if it gets
    // there only after tab one is done).
    const refused = refusedMe(two, server.url)
    const second = me(two)
    await refused
    await sleep(200)
    held.release()
    expect(await Promise.all([first, second])).toEqual([user.id, user.id])
    expect(refreshes.count).toBe(1)
    expect(await two.evaluate(() => (window as unknown as ClientWindow).refreshes)).toEqual(['other_tab'])
    // The lease was tab one's, and tab one released it.
    const outcome = await one.evaluate(
      (key) => JSON.parse(localStorage.getItem(key) ?? 'null'),
      `tokenpair:${server.url}/auth`,
    )
    expect(outcome).toMatchObject({ kind: 'tokens', tab: lease.tab })
    await expect.poll(() => readIndexedDB(two, leaseKey)).toBeUndefined()
  })

  it('does not let a lease a frozen tab left in IndexedDB stall the others for longer than the bound', async () => {
    const context = await newContext()
    await hideAPIs(context, ['locks'])
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const page = await openClientPage(context, server.url, { proactiveRefresh: false, lockTimeoutMs: 1_000 })
    const user = await registerIn(page)
    // A tab took the lease and froze: the record stays, with its expiry far ahead.
    const leaseKey = `tokenpair-lease:${server.url}/auth`
    await page.evaluate(
      ({ db, key }) =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open(db.name)
          open.onsuccess = () => {
            const tx = open.result.transaction(db.store, 'readwrite')
            tx.objectStore(db.store).put({ tab: 'frozen', until: Date.now() + 60_000 }, key)
            tx.oncomplete = () => resolve()
            tx.onabort = () => reject(tx.error)
          }
          open.onerror = () => reject(open.error)
        }),
      { db: LEASE_DB, key: leaseKey },
    )
    await waitForExpiry(page)
    refreshes.reset()
    const started = Date.now()
    expect(await me(page)).toBe(user.id)
    const waited = Date.now() - started
    expect(refreshes.count).toBe(1)
    expect(waited).toBeGreaterThanOrEqual(900)
    expect(waited).toBeLessThan(5_000)
  })

  it('does not let a tab stuck inside an IndexedDB transaction stall the others for longer than the bound', async () => {
    const context = await newContext()
    await hideAPIs(context, ['locks'])
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const page = await openClientPage(context, server.url, { proactiveRefresh: false, lockTimeoutMs: 1_000 })
    const user = await registerIn(page)
    // Another tab opens a transaction on the lease store and keeps it open with a request after
    // request: every other tab's transaction on the store queues behind it.
    const stuck = await context.newPage()
    await stuck.goto(`${server.url}/healthz`)
    await stuck.evaluate(
      (db) =>
        new Promise<void>((started, reject) => {
          const open = indexedDB.open(db.name)
          open.onsuccess = () => {
            const store = open.result.transaction(db.store, 'readwrite').objectStore(db.store)
            const again = () => {
              store.get('nothing').onsuccess = again
            }
            again()
            started()
          }
          open.onerror = () => reject(open.error)
        }),
      LEASE_DB,
    )
    await waitForExpiry(page)
    refreshes.reset()
    const started = Date.now()
    expect(await me(page)).toBe(user.id)
    const waited = Date.now() - started
    expect(refreshes.count).toBe(1)
    expect(waited).toBeGreaterThanOrEqual(900)
    expect(waited).toBeLessThan(5_000)
    // The attempt that timed out was aborted: once the stuck tab is gone, no lease of it lands.
    await stuck.close()
    expect(await readIndexedDB(page, `tokenpair-lease:${server.url}/auth`)).toBeUndefined()
  })

  it('falls back to the localStorage lease, without waiting out the bound, when IndexedDB never opens', async () => {
    const context = await newContext()
    await hideAPIs(context, ['locks'])
    // As in some Safari 14 releases (no Web Locks): the first open() stays pending forever.
    await context.addInitScript(() => {
      Object.defineProperty(IDBFactory.prototype, 'open', { value: () => ({}), configurable: true })
    })
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const page = await openClientPage(context, server.url, { proactiveRefresh: false, lockTimeoutMs: 10_000 })
    const user = await registerIn(page)
    await waitForExpiry(page)
    refreshes.reset()
    const held = await holdRefreshes(context, server.url)
    const started = Date.now()
    const done = me(page)
    await held.arrived
    expect(
      await page.evaluate(
        (key) => JSON.parse(localStorage.getItem(key) ?? 'null'),
        `tokenpair-lease:${server.url}/auth`,
      ),
    ).toStrictEqual({ tab: expect.any(String), until: expect.any(Number) })
    held.release()
    expect(await done).toBe(user.id)
    expect(refreshes.count).toBe(1)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('falls back to a best-effort lease in localStorage without Web Locks and IndexedDB', async () => {
    const context = await newContext()
    await hideAPIs(context, ['locks', 'BroadcastChannel', 'indexedDB'])
    const refreshes = countRequests(context, isRefreshOf(server.url))
    const one = await openClientPage(context, server.url, { proactiveRefresh: false })
    expect(await one.evaluate(() => typeof indexedDB)).toBe('undefined')
    const user = await registerIn(one)
    const two = await openClientPage(context, server.url, { proactiveRefresh: false })
    await waitForExpiry(one)
    refreshes.reset()
    const held = await holdRefreshes(context, server.url)
    const leaseKey = `tokenpair-lease:${server.url}/auth`

    const first = me(one)
    await held.arrived
    // Best-effort only: two tabs that start together can both take this lease, so tab two starts
    // once it sees tab one's (localStorage reaches the other tabs asynchronously, but in order).
    await expect.poll(() => two.evaluate((key) => localStorage.getItem(key), leaseKey)).not.toBeNull()
    const lease = await two.evaluate((key) => JSON.parse(localStorage.getItem(key)!), leaseKey)
    expect(lease).toStrictEqual({ tab: expect.any(String), until: expect.any(Number) })
    const refused = refusedMe(two, server.url)
    const second = me(two)
    await refused
    await sleep(200)
    held.release()
    expect(await Promise.all([first, second])).toEqual([user.id, user.id])
    expect(refreshes.count).toBe(1)
    await expect.poll(() => one.evaluate((key) => localStorage.getItem(key), leaseKey)).toBeNull()
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
