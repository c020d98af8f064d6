import { startTestOP, type TestOP } from './oidc-op.js'
import { type Hop, RedirectBrowser } from './redirect-browser.js'
import { startTestServer, type TestServer, type TestServerOptions } from './test-server.js'

/*
 * The redirect dance of a sign-in with an identity provider, driven by fetch: tokenpair's start →
 * the provider's authorization endpoint → its interaction → tokenpair's callback, and no further.
 */

/** Whether `url` is a provider callback of the tokenpair server at `serverUrl`. */
export function isCallbackOf(serverUrl: string, url: URL): boolean {
  return url.origin === serverUrl && /^\/auth\/oidc\/[^/]+\/callback$/.test(url.pathname)
}

/** The hop that tokenpair's callback answered (the last redirect of the dance). */
export function callbackHop(serverUrl: string, hops: Hop[]): Hop {
  const hop = hops.find((h) => isCallbackOf(serverUrl, h.url))
  if (!hop) throw new Error(`no callback among ${hops.map((h) => h.url.href).join(' → ')}`)
  return hop
}

/** What the start is asked for. */
export interface DanceOptions {
  provider?: string
  returnTo?: string
  link?: boolean
  dpopJkt?: string
}

/** Runs the dance from the start up to (and including) the callback, in `browser`; returns the callback's hop. */
export async function danceToCallback(
  serverUrl: string,
  options: DanceOptions = {},
  browser = new RedirectBrowser(),
): Promise<{ browser: RedirectBrowser; callback: Hop }> {
  const start = new URL(`${serverUrl}/auth/oidc/${options.provider ?? 'corp'}/start`)
  if (options.returnTo !== undefined) start.searchParams.set('returnTo', options.returnTo)
  if (options.link) start.searchParams.set('link', '1')
  if (options.dpopJkt !== undefined) start.searchParams.set('dpop_jkt', options.dpopJkt)
  let passedCallback = false
  const hops = await browser.follow(start, {
    stopAt: (next) => {
      if (passedCallback) return true
      passedCallback = isCallbackOf(serverUrl, next)
      return false
    },
  })
  return { browser, callback: callbackHop(serverUrl, hops) }
}

/**
 * A real OpenID provider on loopback and a tokenpair server with it configured as `corp`, its
 * callback registered at the provider.
 */
export async function startServerWithOP(
  options: TestServerOptions = {},
): Promise<{ op: TestOP; server: TestServer; close(): Promise<void> }> {
  const op = await startTestOP()
  const server = await startTestServer({
    rateLimit: false,
    ...options,
    providers: { corp: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret } },
  })
  await op.register([`${server.url}/auth/oidc/corp/callback`])
  return {
    op,
    server,
    async close() {
      await server.close()
      await op.close()
    },
  }
}
