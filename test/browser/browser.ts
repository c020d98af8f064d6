import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { type RunningServer, startServer } from '../../src/server/start-server.js'
import { TEST_SECRET } from '../helpers/test-server.js'

/** Debian's Chromium; tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** One headless Chromium for a test file (each launch gets a fresh temporary profile). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** Counts the requests of a browser context that match, as the network sees them. */
export function countRequests(
  context: BrowserContext,
  matches: (method: string, url: URL) => boolean,
): { readonly count: number; reset(): void } {
  let count = 0
  context.on('request', (request) => {
    if (matches(request.method(), new URL(request.url()))) count++
  })
  return {
    get count() {
      return count
    },
    reset() {
      count = 0
    },
  }
}

/** Matches `POST /auth/refresh` of the server at `origin`. */
export function isRefreshOf(origin: string): (method: string, url: URL) => boolean {
  return (method, url) => method === 'POST' && url.origin === origin && url.pathname === '/auth/refresh'
}

/**
 * Opens a same-origin page that makes no requests of its own (`/healthz`) and creates a client in
 * it from `/tokenpair-client.js`, as `window.client`. `options` are `createClient`'s, minus baseUrl.
 */
export async function openClientPage(
  context: BrowserContext,
  serverUrl: string,
  options: Record<string, unknown> = {},
): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${serverUrl}/healthz`)
  // A string, not a function: the test runner rewrites `import()` inside functions it compiles.
  await page.evaluate("import('/tokenpair-client.js').then((m) => { window.tokenpair = m })")
  await page.evaluate((opts) => {
    const w = window as unknown as {
      tokenpair: { createClient: (o: object) => unknown }
      client: unknown
      ended: string[]
      refreshes: string[]
    }
    const { createClient } = w.tokenpair
    w.ended = []
    w.refreshes = []
    w.client = createClient({
      baseUrl: location.origin,
      mode: 'cookie',
      ...opts,
      onSessionEnd: (e: { reason: string }) => w.ended.push(e.reason),
      onRefresh: (e: { source: string }) => w.refreshes.push(e.source),
    })
  }, options)
  return page
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The ready server as `npm start` runs it, configured through its environment. */
export function startReadyServer(dataDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: 'sqlite::memory:',
    AUTH_SECRET: TEST_SECRET,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...env,
  })
}
