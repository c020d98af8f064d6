import * as client from 'openid-client'
import type { ResolvedOIDCProvider } from '../config/oidc-providers.js'
import { FederationError } from '../errors.js'
import type { ProviderProfile } from './provider-profile.js'

/*
 * GitHub is OAuth 2.0 without OpenID Connect: no ID token, so the person is read from its API
 * with the access token: `/user` for the stable numeric id (the subject) and the login, and
 * `/user/emails` for the verified primary address (the one in `/user` may be unverified or absent).
 */

interface GitHubUser {
  id: number
  login: string
  name: string | null
}

interface GitHubEmail {
  email: string
  primary: boolean
  verified: boolean
}

async function readGitHubJSON(
  configuration: client.Configuration,
  accessToken: string,
  url: URL,
): Promise<unknown> {
  const headers = new Headers({
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    // GitHub refuses API requests without a User-Agent.
    'user-agent': 'tokenpair',
  })
  const response = await client.fetchProtectedResource(configuration, accessToken, url, 'GET', null, headers)
  if (!response.ok) throw new FederationError('oidc_failed', `GitHub answered ${response.status}`)
  return response.json()
}

function isGitHubUser(value: unknown): value is GitHubUser {
  const user = value as GitHubUser | null
  return (
    typeof user === 'object' &&
    user !== null &&
    Number.isSafeInteger(user.id) &&
    user.id > 0 &&
    typeof user.login === 'string'
  )
}

/** The person behind a GitHub access token, with the verified primary address. */
export async function readGitHubProfile(
  configuration: client.Configuration,
  provider: ResolvedOIDCProvider,
  accessToken: string,
): Promise<ProviderProfile> {
  const api = provider.apiUrl!
  const user = await readGitHubJSON(configuration, accessToken, new URL(`${api}/user`))
  if (!isGitHubUser(user)) throw new FederationError('oidc_failed', 'GitHub sent no user')
  const emails = await readGitHubJSON(configuration, accessToken, new URL(`${api}/user/emails`))
  const primary = Array.isArray(emails)
    ? (emails as GitHubEmail[]).find(
        (e) => e?.primary === true && e.verified === true && typeof e.email === 'string',
      )
    : undefined
  return {
    provider: provider.name,
    issuer: provider.issuer,
    subject: String(user.id),
    email: primary?.email ?? null,
    emailVerified: primary !== undefined,
    username: user.login,
    fullname: typeof user.name === 'string' ? user.name : null,
  }
}
