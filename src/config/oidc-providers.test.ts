import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { readServerConfig } from './env.js'
import { resolveOptions } from './options.js'

const SECRET = 's'.repeat(32)

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('no ConfigError was thrown')
}

describe('identity providers from the environment', () => {
  it('reads OIDC_PROVIDERS and each OIDC_<NAME>_* into the providers option', () => {
    const config = readServerConfig({
      OIDC_PROVIDERS: 'google, github',
      OIDC_GOOGLE_ISSUER: 'https://accounts.google.com',
      OIDC_GOOGLE_CLIENT_ID: 'gid',
      OIDC_GOOGLE_CLIENT_SECRET: 'gsecret',
      OIDC_GITHUB_CLIENT_ID: 'hid',
      OIDC_GITHUB_SCOPES: 'read:user,user:email',
    })
    expect(config.auth.providers).toEqual({
      google: { issuer: 'https://accounts.google.com', clientId: 'gid', clientSecret: 'gsecret' },
      github: { clientId: 'hid', scopes: ['read:user', 'user:email'] },
    })
    const resolved = resolveOptions({ ...config.auth, database: 'sqlite::memory:', secret: SECRET })
    expect(resolved.providers.map((p) => [p.name, p.kind, p.issuer, p.scopes.join(' ')])).toEqual([
      ['google', 'oidc', 'https://accounts.google.com', 'openid email profile'],
      ['github', 'github', 'https://github.com', 'read:user user:email'],
    ])
    expect(resolved.providers[1]!.apiUrl).toBe('https://api.github.com')
  })

  it('names the variable that is missing or wrong', () => {
    expect(messageOf(() => readServerConfig({ OIDC_PROVIDERS: 'corp', OIDC_CORP_CLIENT_ID: 'x' }))).toBe(
      'OIDC_CORP_ISSUER: required',
    )
    expect(
      messageOf(() => readServerConfig({ OIDC_PROVIDERS: 'corp', OIDC_CORP_ISSUER: 'https://idp.example' })),
    ).toBe('OIDC_CORP_CLIENT_ID: required')
    expect(
      messageOf(() =>
        readServerConfig({
          OIDC_PROVIDERS: 'corp',
          OIDC_CORP_ISSUER: 'http://idp.example',
          OIDC_CORP_CLIENT_ID: 'x',
        }),
      ),
    ).toMatch(/^OIDC_CORP_ISSUER: must be https/)
    expect(messageOf(() => readServerConfig({ OIDC_PROVIDERS: 'a/b' }))).toMatch(/^OIDC_PROVIDERS: /)
  })
})

describe('the providers option', () => {
  const resolve = (providers: Parameters<typeof resolveOptions>[0]['providers']) =>
    resolveOptions({ database: 'sqlite::memory:', secret: SECRET, providers }).providers

  it('has none by default', () => {
    expect(resolve(undefined)).toEqual([])
  })

  it('allows http on loopback only, and an issuer without query or fragment', () => {
    expect(resolve({ local: { issuer: 'http://127.0.0.1:9000/', clientId: 'c' } })[0]!.issuer).toBe(
      'http://127.0.0.1:9000',
    )
    expect(messageOf(() => resolve({ corp: { issuer: 'https://idp.example/?a=1', clientId: 'c' } }))).toMatch(
      /^providers\.corp\.issuer: /,
    )
    expect(messageOf(() => resolve({ corp: { issuer: 'ftp://idp.example', clientId: 'c' } }))).toMatch(
      /^providers\.corp\.issuer: must be https/,
    )
  })

  it('refuses a bad name, OIDC scopes without openid, and a GitHub Enterprise API default', () => {
    expect(messageOf(() => resolve({ 'Bad-Name': { issuer: 'https://a.example', clientId: 'c' } }))).toMatch(
      /^providers: /,
    )
    expect(
      messageOf(() => resolve({ corp: { issuer: 'https://a.example', clientId: 'c', scopes: ['email'] } })),
    ).toBe('providers.corp.scopes: must include openid')
    expect(resolve({ github: { issuer: 'https://git.corp.example', clientId: 'c' } })[0]!.apiUrl).toBe(
      'https://git.corp.example/api/v3',
    )
  })
})
