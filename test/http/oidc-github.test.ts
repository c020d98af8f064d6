import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, type GitHubTestUser, startGitHubStandIn } from '../helpers/github-stand-in.js'
import { parseSetCookies, request } from '../helpers/http.js'
import { RedirectBrowser } from '../helpers/redirect-browser.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * The `github` preset (OAuth 2.0, no ID token) against a loopback stand-in of GitHub's endpoints:
 * GitHub itself is not reachable from the tests.
 */

let github: GitHubStandIn
let server: TestServer

beforeAll(async () => {
  github = await startGitHubStandIn()
  server = await startTestServer({
    rateLimit: false,
    providers: {
      github: {
        issuer: github.url,
        apiUrl: github.url,
        clientId: github.clientId,
        clientSecret: github.clientSecret,
      },
    },
  })
})

afterAll(async () => {
  await server?.close()
  await github?.close()
})

let ids = 1000
function gitHubUser(overrides: Partial<GitHubTestUser> = {}): GitHubTestUser {
  ids++
  const login = `Octo-${process.pid}-${ids}`
  return {
    id: ids,
    login,
    name: 'Mona Lisa',
    emails: [
      { email: `${login}@users.noreply.example`, primary: false, verified: true },
      { email: `${login.toLowerCase()}@example.com`, primary: true, verified: true },
    ],
    ...overrides,
  }
}

async function signIn(user: GitHubTestUser) {
  github.signInAs(user)
  const browser = new RedirectBrowser()
  const hops = await browser.follow(`${server.url}/auth/oidc/github/start?returnTo=/home`, {
    stopAt: (next) => next.origin === server.url && !next.pathname.startsWith('/auth/'),
  })
  const callback = hops.find((h) => h.url.pathname === '/auth/oidc/github/callback')!
  return { browser, hops, callback }
}

function me(browser: RedirectBrowser) {
  return request(`${server.url}/auth/me`, {
    headers: { cookie: `accessToken=${browser.cookie(server.url, 'accessToken')}` },
  })
}

describe('the github preset', () => {
  it('asks GitHub with PKCE and its scopes, and signs in with the verified primary address', async () => {
    const user = gitHubUser()
    const { browser, hops, callback } = await signIn(user)
    const authorize = hops[0]!.location!
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${github.url}/login/oauth/authorize`)
    expect(authorize.searchParams.get('scope')).toBe('read:user user:email')
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.has('nonce')).toBe(false)
    expect(callback.location!.href).toBe(`${server.url}/home`)
    expect((await me(browser)).body.data).toMatchObject({
      username: user.login.toLowerCase(),
      email: user.emails[1]!.email,
      emailVerified: true,
      fullname: 'Mona Lisa',
    })
  })

  it('keys the identity on the numeric id: a renamed login is the same user', async () => {
    const user = gitHubUser()
    const first = await signIn(user)
    const id = (await me(first.browser)).body.data.id
    const renamed = await signIn({ ...user, login: `${user.login}-renamed` })
    expect((await me(renamed.browser)).body.data.id).toBe(id)
  })

  it('answers email_missing without a verified primary address', async () => {
    const user = gitHubUser({
      emails: [
        { email: 'unverified-primary@example.com', primary: true, verified: false },
        { email: 'verified-other@example.com', primary: false, verified: true },
      ],
    })
    const { callback } = await signIn(user)
    expect(callback.location!.href).toBe(`${server.url}/home?error=email_missing`)
    expect(parseSetCookies(callback.setCookies).has('accessToken')).toBe(false)
  })

  it('refuses a code GitHub does not honour', async () => {
    github.signInAs(gitHubUser())
    const browser = new RedirectBrowser()
    const hops = await browser.follow(`${server.url}/auth/oidc/github/start`, {
      stopAt: (next) => next.pathname === '/auth/oidc/github/callback',
    })
    const back = hops.at(-1)!.location!
    back.searchParams.set('code', 'not-a-code-github-issued')
    const answer = await browser.step(back)
    expect(answer.location!.href).toBe(`${server.url}/?error=oidc_failed`)
  })
})
