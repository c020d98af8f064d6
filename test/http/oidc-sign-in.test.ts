import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dpopProof, makeDPoPKey } from '../helpers/dpop-key.js'
import { parseSetCookies, registerBearer, request } from '../helpers/http.js'
import { startTestOP, type TestAccount, type TestOP } from '../helpers/oidc-op.js'
import { type Hop, RedirectBrowser } from '../helpers/redirect-browser.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Sign-in with an identity provider against a real OpenID provider (oidc-provider) on loopback,
 * the whole redirect dance driven by fetch: tokenpair's start → the OP's authorization endpoint →
 * its interaction (which signs in as the test's account) → back to tokenpair's callback → returnTo.
 */

let op: TestOP & { register(uris: string[]): Promise<void> }
let second: TestOP & { register(uris: string[]): Promise<void> }
let mixUp: { url: string; close(): Promise<void> }
/** The failure lines the server logged (`oidc: sign-in failed`), newest last. */
const failures = () => logLines.filter((l) => l.includes('oidc: sign-in failed')).map((l) => JSON.parse(l)[0])
let server: TestServer
const logLines: string[] = []

/**
 * A discovery document that names itself the issuer but points at `target`'s endpoints and keys
 * (a mix-up: the ID tokens then come from `target`'s issuer), read from `target` on each request.
 */
async function startMixUpIssuer(target: string) {
  const srv = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') {
      res.statusCode = 404
      res.end()
      return
    }
    void fetch(`${target}/.well-known/openid-configuration`)
      .then((r) => r.json() as Promise<Record<string, unknown>>)
      .then((metadata) => {
        const { authorization_response_iss_parameter_supported: _iss, ...rest } = metadata
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ ...rest, issuer: url }))
      })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
  return {
    url,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  }
}

beforeAll(async () => {
  op = await startTestOP()
  second = await startTestOP()
  mixUp = await startMixUpIssuer(second.issuer)
  const capture = (...args: unknown[]) => {
    logLines.push(JSON.stringify(args))
  }
  // The ports of tokenpair are known only once it listens; the OPs take their clients after.
  const pending = startTestServer({
    rateLimit: false,
    logger: { info: capture, warn: capture, error: capture },
    providers: {
      corp: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, label: 'Corp SSO' },
      second: { issuer: second.issuer, clientId: second.clientId, clientSecret: second.clientSecret },
      mixed: { issuer: mixUp.url, clientId: second.clientId, clientSecret: second.clientSecret },
    },
  })
  server = await pending
  await op.register([`${server.url}/auth/oidc/corp/callback`])
  await second.register([`${server.url}/auth/oidc/second/callback`, `${server.url}/auth/oidc/mixed/callback`])
})

afterAll(async () => {
  await server?.close()
  await op?.close()
  await second?.close()
  await mixUp?.close()
})

let accounts = 0
/** A fresh person at an OP, with a verified address unless told otherwise. */
function newAccount(overrides: Partial<TestAccount> = {}): TestAccount {
  accounts++
  const tag = `${process.pid.toString(36)}${accounts}${Math.random().toString(36).slice(2, 6)}`
  return {
    sub: `sub-${tag}`,
    email: `fed_${tag}@example.com`,
    email_verified: true,
    name: 'Fed User',
    preferred_username: `Fed.${tag}`,
    ...overrides,
  }
}

const isCallback = (url: URL) =>
  url.origin === server.url && /^\/auth\/oidc\/[^/]+\/callback$/.test(url.pathname)

/** The hop that tokenpair's callback answered (the last redirect of the dance). */
function callbackHop(hops: Hop[]): Hop {
  const hop = hops.find((h) => isCallback(h.url))
  if (!hop) throw new Error(`no callback among ${hops.map((h) => h.url.href).join(' → ')}`)
  return hop
}

/** Runs the dance from tokenpair's start up to (and including) its callback; returns every hop. */
async function dance(
  browser: RedirectBrowser,
  options: {
    provider?: string
    returnTo?: string
    link?: boolean
    dpopJkt?: string
    stopAt?: (next: URL) => boolean
  } = {},
): Promise<Hop[]> {
  const start = new URL(`${server.url}/auth/oidc/${options.provider ?? 'corp'}/start`)
  if (options.returnTo !== undefined) start.searchParams.set('returnTo', options.returnTo)
  if (options.link) start.searchParams.set('link', '1')
  if (options.dpopJkt !== undefined) start.searchParams.set('dpop_jkt', options.dpopJkt)
  // Stop after the callback: where it sends the browser is what the tests look at.
  let passedCallback = false
  return browser.follow(start, {
    stopAt: (next) => {
      if (passedCallback || options.stopAt?.(next)) return true
      passedCallback = isCallback(next)
      return false
    },
  })
}

/** GET /auth/me with the browser's access cookie. */
function me(browser: RedirectBrowser) {
  const token = browser.cookie(server.url, 'accessToken')
  return request(`${server.url}/auth/me`, { headers: token ? { cookie: `accessToken=${token}` } : {} })
}

async function signInAs(account: TestAccount, options: Parameters<typeof dance>[1] = {}) {
  const opOf = options.provider === 'second' ? second : op
  opOf.signInAs(account)
  const browser = new RedirectBrowser()
  const hops = await dance(browser, options)
  return { browser, hops, callback: callbackHop(hops) }
}

describe('sign-in with an identity provider', () => {
  it('lists the configured providers for the sign-in buttons', async () => {
    const res = await request(`${server.url}/auth/oidc/providers`)
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual([
      { name: 'corp', label: 'Corp SSO' },
      { name: 'second', label: 'Second' },
      { name: 'mixed', label: 'Mixed' },
    ])
  })

  it('starts with PKCE S256, state and nonce, kept in a sealed cookie only the callback gets', async () => {
    const browser = new RedirectBrowser()
    const start = await browser.step(`${server.url}/auth/oidc/corp/start?returnTo=/notes`)
    expect(start.status).toBe(302)
    const authorize = start.location!
    expect(authorize.origin).toBe(op.issuer)
    const params = authorize.searchParams
    expect(params.get('response_type')).toBe('code')
    expect(params.get('code_challenge_method')).toBe('S256')
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(params.get('redirect_uri')).toBe(`${server.url}/auth/oidc/corp/callback`)
    expect(params.get('scope')).toBe('openid email profile')
    const flow = parseSetCookies(start.setCookies).get('tokenpair_oidc')!
    expect(flow.attributes).toMatchObject({
      path: '/auth/oidc/corp/callback',
      httponly: true,
      secure: true,
      samesite: 'Lax',
      'max-age': '600',
    })
    // Sealed: neither the state nor the verifier can be read from it.
    expect(flow.value).not.toContain(params.get('state')!)
    expect(start.setCookies.join()).not.toMatch(/accessToken|refreshToken/)
  })

  it('creates a user at the first sign-in and finds the same user at the second', async () => {
    const account = newAccount()
    const first = await signInAs(account, { returnTo: '/notes?tab=1' })
    expect(first.callback.status).toBe(302)
    expect(first.callback.location!.href).toBe(`${server.url}/notes?tab=1`)
    const cookies = parseSetCookies(first.callback.setCookies)
    const access = cookies.get('accessToken')!.value
    const claims = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString())
    // The session records how it authenticated; its tokens' amr comes from there.
    const session = await server.auth.storage.findSession(claims.sid)
    expect(session?.amr).toEqual(['fed'])
    expect(cookies.get('refreshToken')?.attributes).toMatchObject({ path: '/auth', samesite: 'Strict' })
    // The flow cookie is gone: a callback uses it once.
    expect(first.browser.cookie(server.url, 'tokenpair_oidc')).toBeUndefined()
    const user = (await me(first.browser)).body.data
    expect(user).toMatchObject({
      email: account.email,
      emailVerified: true,
      fullname: 'Fed User',
      username: account.preferred_username!.toLowerCase(),
    })

    const again = await signInAs(account)
    expect(again.callback.location!.href).toBe(`${server.url}/`)
    expect((await me(again.browser)).body.data.id).toBe(user.id)
    const sessions = await request(`${server.url}/auth/sessions`, {
      headers: { cookie: `accessToken=${again.browser.cookie(server.url, 'accessToken')}` },
    })
    expect(sessions.body.data).toHaveLength(2)
    // The session refreshes like any other.
    const refreshed = await request(`${server.url}/auth/refresh`, {
      method: 'POST',
      headers: {
        cookie: `refreshToken=${again.browser.cookie(server.url, 'refreshToken')}`,
        origin: server.url,
      },
    })
    expect(refreshed.status).toBe(200)
  })

  it('binds the session to the key the start names (dpop_jkt): its refresh needs a proof by it', async () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
    const { callback, browser } = await signInAs(newAccount(), { dpopJkt: jkt })
    const access = parseSetCookies(callback.setCookies).get('accessToken')!.value
    expect(JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).cnf).toEqual({ jkt })
    const refresh = await request(`${server.url}/auth/refresh`, {
      body: { refreshToken: browser.cookie(server.url, 'refreshToken') },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect([refresh.status, refresh.body.code]).toEqual([401, 'invalid_dpop_proof'])
    const malformed = await dance(new RedirectBrowser(), { dpopJkt: 'not-a-thumbprint' })
    expect(malformed[0]!.location!.searchParams.get('error')).toBe('oidc_failed')
  })

  it('binds to the key of a DPoP proof the callback itself carries; one by another key than the start’s fails', async () => {
    const key = await makeDPoPKey()
    const htu = `${server.url}/auth/oidc/corp/callback`
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const callback = (await dance(browser, { stopAt: isCallback })).at(-1)!.location!
    const proved = await browser.step(callback, { dpop: await dpopProof(key, 'GET', htu) })
    expect(proved.location!.searchParams.has('error')).toBe(false)
    const access = parseSetCookies(proved.setCookies).get('accessToken')!.value
    expect(JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).cnf).toEqual({
      jkt: key.jkt,
    })

    op.signInAs(newAccount())
    const other = new RedirectBrowser()
    const named = (await dance(other, { dpopJkt: key.jkt, stopAt: isCallback })).at(-1)!.location!
    const stranger = await makeDPoPKey()
    const refused = await other.step(named, { dpop: await dpopProof(stranger, 'GET', htu) })
    expect(refused.location!.href).toBe(`${server.url}/?error=oidc_failed`)
    expect(parseSetCookies(refused.setCookies).has('accessToken')).toBe(false)
    expect(failures().at(-1)).toMatchObject({ provider: 'corp', outcome: 'oidc_failed' })
  })

  it('takes a free username when the provider’s is taken', async () => {
    const taken = await registerBearer(server.url)
    const account = newAccount({ preferred_username: taken.username })
    const { browser } = await signInAs(account)
    const user = (await me(browser)).body.data
    expect(user.username).not.toBe(taken.username)
    expect(user.username.startsWith(taken.username.slice(0, 24))).toBe(true)
  })

  it('refuses a wrong state: oidc_failed, nothing logged in', async () => {
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const hops = await dance(browser, { returnTo: '/app', stopAt: isCallback })
    const callback = hops.at(-1)!.location!
    expect(isCallback(callback)).toBe(true)
    callback.searchParams.set('state', 'forged-state-of-another-flow')
    const answer = await browser.step(callback)
    expect(answer.status).toBe(302)
    expect(answer.location!.href).toBe(`${server.url}/app?error=oidc_failed`)
    expect(parseSetCookies(answer.setCookies).has('accessToken')).toBe(false)
    expect(browser.cookie(server.url, 'tokenpair_oidc')).toBeUndefined()
  })

  it('refuses a callback without its flow cookie, and one of another browser', async () => {
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const hops = await dance(browser, { stopAt: isCallback })
    const callback = hops.at(-1)!.location!
    // Another browser (an attacker's victim) gets the attacker's callback URL: no flow, no login.
    const victim = new RedirectBrowser()
    const answer = await victim.step(callback)
    expect(answer.location!.href).toBe(`${server.url}/?error=oidc_failed`)
    expect(parseSetCookies(answer.setCookies).has('accessToken')).toBe(false)
  })

  it('refuses a replayed code, even with the flow cookie replayed too', async () => {
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const hops = await dance(browser, { stopAt: isCallback })
    const callback = hops.at(-1)!.location!
    const flow = browser.cookie(server.url, 'tokenpair_oidc')!
    const first = await browser.step(callback)
    expect(first.location!.pathname).toBe('/')
    expect(first.location!.searchParams.has('error')).toBe(false)
    const replay = new RedirectBrowser()
    replay.setCookie(server.url, 'tokenpair_oidc', flow, '/auth/oidc/corp/callback')
    const again = await replay.step(callback)
    expect(again.location!.href).toBe(`${server.url}/?error=oidc_failed`)
    expect(parseSetCookies(again.setCookies).has('accessToken')).toBe(false)
  })

  it('refuses an ID token whose nonce is not the flow’s', async () => {
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const start = await browser.step(`${server.url}/auth/oidc/corp/start?returnTo=/x`)
    const authorize = start.location!
    authorize.searchParams.set('nonce', 'a-nonce-the-relying-party-never-made')
    const hops = await browser.follow(authorize, {
      stopAt: (next) => next.origin === server.url && !isCallback(next),
    })
    const callback = callbackHop(hops)
    expect(callback.location!.href).toBe(`${server.url}/x?error=oidc_failed`)
    expect(parseSetCookies(callback.setCookies).has('accessToken')).toBe(false)
    expect(failures().at(-1)).toMatchObject({ provider: 'corp', claim: 'nonce' })
  })

  it('refuses an ID token from another issuer than the provider’s (a mix-up)', async () => {
    second.signInAs(newAccount())
    const browser = new RedirectBrowser()
    const start = await browser.step(`${server.url}/auth/oidc/mixed/start?returnTo=/m`)
    // The authorization endpoint is the other issuer's, as the mixed-up metadata says.
    expect(start.location!.origin).toBe(second.issuer)
    const hops = await browser.follow(start.location!, { stopAt: (next) => next.origin === server.url })
    const back = hops.at(-1)!.location!
    expect(back.pathname).toBe('/auth/oidc/mixed/callback')
    // The attacker drops RFC 9207's `iss` from the response, so the ID token's `iss` is the check left.
    back.searchParams.delete('iss')
    const answer = await browser.step(back)
    expect(answer.location!.href).toBe(`${server.url}/m?error=oidc_failed`)
    expect(parseSetCookies(answer.setCookies).has('accessToken')).toBe(false)
    expect(failures().at(-1)).toMatchObject({
      provider: 'mixed',
      check: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
      claim: 'iss',
    })
  })

  it('creates the user unverified when the provider says email_verified: false', async () => {
    const account = newAccount({ email_verified: false })
    const { browser, callback } = await signInAs(account)
    expect(callback.location!.searchParams.has('error')).toBe(false)
    expect((await me(browser)).body.data).toMatchObject({ email: account.email, emailVerified: false })
  })

  it('answers email_missing when the provider gives no address', async () => {
    const { callback } = await signInAs(newAccount({ email: undefined, email_verified: undefined }))
    expect(callback.location!.searchParams.get('error')).toBe('email_missing')
    expect(parseSetCookies(callback.setCookies).has('accessToken')).toBe(false)
  })

  it('never links to an existing account by its address: account_exists until that user links it', async () => {
    const owner = await registerBearer(server.url)
    const account = newAccount({ email: owner.email })
    const refused = await signInAs(account, { returnTo: '/welcome' })
    expect(refused.callback.location!.href).toBe(`${server.url}/welcome?error=account_exists`)
    expect(parseSetCookies(refused.callback.setCookies).has('accessToken')).toBe(false)

    // Logged in, the owner links the provider account...
    op.signInAs(account)
    const browser = new RedirectBrowser()
    browser.setCookie(server.url, 'accessToken', owner.accessToken)
    const linked = callbackHop(await dance(browser, { link: true, returnTo: '/settings' }))
    expect(linked.location!.href).toBe(`${server.url}/settings`)
    // A link opens no new session.
    expect(parseSetCookies(linked.setCookies).has('refreshToken')).toBe(false)
    const list = await request(`${server.url}/auth/identities`, {
      headers: { authorization: `Bearer ${owner.accessToken}` },
    })
    expect(list.body.data).toEqual([
      { id: expect.any(String), provider: 'corp', email: owner.email, createdAt: expect.any(String) },
    ])
    // ...and from then on the provider signs in as the owner.
    const signedIn = await signInAs(account)
    expect((await me(signedIn.browser)).body.data.id).toBe(owner.id)
  })

  it('refuses to link without a login, and to link a provider account another user has', async () => {
    op.signInAs(newAccount())
    const noLogin = await new RedirectBrowser().step(`${server.url}/auth/oidc/corp/start?link=1&returnTo=/s`)
    // The start itself refuses: the browser never goes to the provider.
    expect(noLogin.location!.href).toBe(`${server.url}/s?error=login_required`)

    const account = newAccount()
    await signInAs(account)
    const other = await registerBearer(server.url)
    op.signInAs(account)
    const browser = new RedirectBrowser()
    browser.setCookie(server.url, 'accessToken', other.accessToken)
    const taken = callbackHop(await dance(browser, { link: true }))
    expect(taken.location!.href).toBe(`${server.url}/?error=identity_taken`)
  })

  it('unlinks with re-authentication, and never the only way in (last_credential)', async () => {
    // A user with a password and one linked provider.
    const owner = await registerBearer(server.url)
    op.signInAs(newAccount())
    const browser = new RedirectBrowser()
    browser.setCookie(server.url, 'accessToken', owner.accessToken)
    await dance(browser, { link: true })
    const auth = { authorization: `Bearer ${owner.accessToken}` }
    const [identity] = (await request(`${server.url}/auth/identities`, { headers: auth })).body.data
    const url = `${server.url}/auth/identities/${identity.id}`
    expect((await request(url, { method: 'DELETE', headers: auth })).body.code).toBe(
      'reauthentication_required',
    )
    const wrong = await request(url, {
      method: 'DELETE',
      headers: auth,
      body: { currentPassword: 'not it at all' },
    })
    expect(wrong.status).toBe(401)
    expect(wrong.body.code).toBe('invalid_credentials')
    const done = await request(url, {
      method: 'DELETE',
      headers: auth,
      body: { currentPassword: owner.password },
    })
    expect(done.status).toBe(200)
    expect((await request(`${server.url}/auth/identities`, { headers: auth })).body.data).toEqual([])
    expect(
      (await request(url, { method: 'DELETE', headers: auth, body: { currentPassword: owner.password } }))
        .status,
    ).toBe(404)

    // A user made by a provider: no password, one identity — it cannot go.
    const fed = await signInAs(newAccount())
    const fedAuth = {
      cookie: `accessToken=${fed.browser.cookie(server.url, 'accessToken')}`,
      origin: server.url,
    }
    const [only] = (await request(`${server.url}/auth/identities`, { headers: fedAuth })).body.data
    const refused = await request(`${server.url}/auth/identities/${only.id}`, {
      method: 'DELETE',
      headers: fedAuth,
    })
    expect(refused.status).toBe(409)
    expect(refused.body.code).toBe('last_credential')
    // With a second provider linked, the first can go (the login is recent: no password needed).
    second.signInAs(newAccount())
    await dance(fed.browser, { provider: 'second', link: true })
    const both = (await request(`${server.url}/auth/identities`, { headers: fedAuth })).body.data
    expect(both.map((i: { provider: string }) => i.provider)).toEqual(['corp', 'second'])
    const unlinked = await request(`${server.url}/auth/identities/${only.id}`, {
      method: 'DELETE',
      headers: fedAuth,
    })
    expect(unlinked.status).toBe(200)
    // Another user's identity is not found, not unlinked.
    const stranger = await registerBearer(server.url)
    const theirs = await request(`${server.url}/auth/identities/${both[1].id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${stranger.accessToken}` },
      body: { currentPassword: stranger.password },
    })
    expect(theirs.status).toBe(404)
    // A password-less account cannot log in with a password.
    const user = (await me(fed.browser)).body.data
    const login = await request(`${server.url}/auth/login`, { body: { login: user.username, password: '' } })
    expect(login.status).toBe(400)
  })

  it.each([
    ['//evil.example/path', '/'],
    ['https://evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/.//evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/ok/path?x=1', '/ok/path?x=1'],
  ])('keeps returnTo %j to this site: %j', async (returnTo, expected) => {
    const { callback } = await signInAs(newAccount(), { returnTo })
    expect(callback.location!.origin).toBe(server.url)
    expect(`${callback.location!.pathname}${callback.location!.search}`).toBe(expected)
    expect(callback.setCookies.join()).toContain('accessToken=')
    // The failure redirect obeys the same rule.
    const browser = new RedirectBrowser()
    const failed = await browser.step(
      `${server.url}/auth/oidc/corp/callback?code=x&state=y&returnTo=${encodeURIComponent(returnTo)}`,
    )
    expect(failed.location!.origin).toBe(server.url)
    expect(failed.location!.pathname).toBe('/')
  })

  it('answers 404 for a provider that is not configured', async () => {
    const res = await request(`${server.url}/auth/oidc/nowhere/start`)
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
  })

  it('logs no authorization code, provider token or state', async () => {
    const { hops } = await signInAs(newAccount())
    const back = hops.find((h) => isCallback(h.url))!.url
    const secrets = [back.searchParams.get('code')!, back.searchParams.get('state')!]
    expect(secrets.every((s) => s.length > 10)).toBe(true)
    await signInAs(newAccount({ email: undefined }))
    const text = logLines.join('\n')
    expect(logLines.some((l) => l.includes('oidc: sign-in failed'))).toBe(true)
    for (const secret of secrets) expect(text).not.toContain(secret)
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./)
  })
})

describe('the callback’s rate limit', () => {
  it('answers rate_limited past the limit, good callbacks and bad alike', async () => {
    const limited = await startTestServer({
      rateLimit: { oidcCallback: '2/15m' },
      providers: { corp: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret } },
    })
    try {
      const browser = new RedirectBrowser()
      const url = `${limited.url}/auth/oidc/corp/callback?code=x&state=y`
      expect((await browser.step(url)).location!.search).toBe('?error=oidc_failed')
      expect((await browser.step(url)).location!.search).toBe('?error=oidc_failed')
      expect((await browser.step(url)).location!.search).toBe('?error=rate_limited')
    } finally {
      await limited.close()
    }
  })
})
