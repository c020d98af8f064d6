import { ConfigError } from '../errors.js'
import { isLoopbackHost } from '../internal/loopback.js'

/** How tokenpair talks to a provider: OpenID Connect with discovery, or GitHub's OAuth 2.0. */
export type OIDCProviderKind = 'oidc' | 'github'

/**
 * One identity provider (docs/oidc.md). The key under which it is given (`providers: { google:
 * {…} }`) is its name: the path `/auth/oidc/<name>/start` and the variables `OIDC_<NAME>_*`.
 */
export interface OIDCProviderOptions {
  /**
   * `oidc`: an OpenID Connect issuer, read by discovery (`ISSUER/.well-known/openid-configuration`).
   * `github`: GitHub's OAuth 2.0 (no ID token; the verified primary address from its API). Default
   * `github` for the name `github`, else `oidc`.
   */
  kind?: OIDCProviderKind
  /**
   * The issuer URL (`OIDC_<NAME>_ISSUER`): required for `oidc`; for `github`, the GitHub host
   * (default `https://github.com`; a GitHub Enterprise Server's URL otherwise). `https`, or
   * `http` on a loopback host only (tests, local development).
   */
  issuer?: string
  /** The client id registered at the provider (`OIDC_<NAME>_CLIENT_ID`). Required. */
  clientId: string
  /** The client secret (`OIDC_<NAME>_CLIENT_SECRET`). Default none: a public client (PKCE only). */
  clientSecret?: string
  /**
   * Scopes asked for (`OIDC_<NAME>_SCOPES`, space- or comma-separated). Default `openid email
   * profile`; for `github`, `read:user user:email`.
   */
  scopes?: readonly string[]
  /**
   * The redirect URI to register at the provider (`OIDC_<NAME>_REDIRECT_URI`). Default
   * `appUrl` (else the request's origin when loopback or allowed) + `basePath` +
   * `/oidc/<name>/callback`.
   */
  redirectUri?: string
  /** The API of a `github` provider (`OIDC_<NAME>_API_URL`). Default `https://api.github.com` for github.com, else `ISSUER/api/v3`. */
  apiUrl?: string
  /** The button text of the demo page. Default: the name, capitalised. */
  label?: string
}

/** An {@link OIDCProviderOptions} checked, defaults applied. */
export interface ResolvedOIDCProvider {
  readonly name: string
  readonly kind: OIDCProviderKind
  /** Without a trailing `/`. */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string | null
  readonly scopes: readonly string[]
  readonly redirectUri: string | null
  /** `github` only; `null` for `oidc`. */
  readonly apiUrl: string | null
  readonly label: string
}

/** Provider names: lower-case letters, digits and `_`, a letter first; they appear in paths and variable names. */
const PROVIDER_NAME = /^[a-z][a-z0-9_]{0,31}$/

/** The defaults of a provider, by kind. */
export const OIDC_PROVIDER_DEFAULTS = Object.freeze({
  oidcScopes: ['openid', 'email', 'profile'],
  githubScopes: ['read:user', 'user:email'],
  githubIssuer: 'https://github.com',
  githubApiUrl: 'https://api.github.com',
})

/** Names the setting of a provider's field in an error: `providers.google.issuer`, or a variable. */
export type ProviderSettingName = (name: string, field: keyof OIDCProviderOptions) => string

const optionName: ProviderSettingName = (name, field) => `providers.${name}.${field}`

/**
 * An http(s) URL without query or fragment; `http` only on a loopback host, where traffic never
 * leaves the machine. Returned without a trailing `/`.
 */
function resolveProviderURL(setting: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(setting, `not a URL: ${JSON.stringify(value)}`)
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
  if (!secure) throw new ConfigError(setting, 'must be https (http only on a loopback host)')
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(setting, 'must have no query, fragment or credentials')
  }
  return url.href.replace(/\/+$/, '')
}

function resolveText(setting: string, value: string | undefined, required: boolean): string | null {
  if (value === undefined || value === '') {
    if (required) throw new ConfigError(setting, 'required')
    return null
  }
  if (typeof value !== 'string' || value.length > 2048 || /[\s\0]/.test(value)) {
    throw new ConfigError(setting, 'must be text without spaces, at most 2048 characters')
  }
  return value
}

/** Checks one provider and applies its defaults. */
export function resolveProvider(
  name: string,
  options: OIDCProviderOptions,
  settingName: ProviderSettingName = optionName,
): ResolvedOIDCProvider {
  if (!PROVIDER_NAME.test(name)) {
    throw new ConfigError(
      'providers',
      `provider name ${JSON.stringify(name)}: use 1 to 32 of a-z 0-9 _, a letter first`,
    )
  }
  const set = (field: keyof OIDCProviderOptions) => settingName(name, field)
  if (options === null || typeof options !== 'object') throw new ConfigError(set('clientId'), 'required')
  const kind = options.kind ?? (name === 'github' ? 'github' : 'oidc')
  if (kind !== 'oidc' && kind !== 'github') throw new ConfigError(set('kind'), 'must be oidc or github')
  const defaultIssuer = kind === 'github' ? OIDC_PROVIDER_DEFAULTS.githubIssuer : undefined
  const issuerText = options.issuer ?? defaultIssuer
  if (issuerText === undefined || issuerText === '') throw new ConfigError(set('issuer'), 'required')
  const issuer = resolveProviderURL(set('issuer'), issuerText)
  const scopes = [
    ...(options.scopes ??
      (kind === 'github' ? OIDC_PROVIDER_DEFAULTS.githubScopes : OIDC_PROVIDER_DEFAULTS.oidcScopes)),
  ]
  if (
    scopes.length === 0 ||
    scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
  ) {
    throw new ConfigError(set('scopes'), 'must be one or more scope names')
  }
  if (kind === 'oidc' && !scopes.includes('openid')) {
    throw new ConfigError(set('scopes'), 'must include openid')
  }
  let apiUrl: string | null = null
  if (kind === 'github') {
    const defaultApi =
      issuer === OIDC_PROVIDER_DEFAULTS.githubIssuer
        ? OIDC_PROVIDER_DEFAULTS.githubApiUrl
        : `${issuer}/api/v3`
    apiUrl = resolveProviderURL(set('apiUrl'), options.apiUrl ?? defaultApi)
  }
  const label = options.label ?? name.charAt(0).toUpperCase() + name.slice(1)
  if (typeof label !== 'string' || label.length === 0 || label.length > 64) {
    throw new ConfigError(set('label'), 'must be 1 to 64 characters')
  }
  return Object.freeze({
    name,
    kind,
    issuer,
    clientId: resolveText(set('clientId'), options.clientId, true)!,
    clientSecret: resolveText(set('clientSecret'), options.clientSecret, false),
    scopes: Object.freeze(scopes),
    redirectUri:
      options.redirectUri === undefined || options.redirectUri === ''
        ? null
        : resolveProviderURL(set('redirectUri'), options.redirectUri),
    apiUrl,
    label,
  })
}

/** Checks the `providers` option of `createAuth`. Default: none. */
export function resolveProviders(
  providers: Readonly<Record<string, OIDCProviderOptions>> | undefined,
  settingName?: ProviderSettingName,
): readonly ResolvedOIDCProvider[] {
  if (providers === undefined) return Object.freeze([])
  if (providers === null || typeof providers !== 'object' || Array.isArray(providers)) {
    throw new ConfigError('providers', 'must be an object of providers by name')
  }
  return Object.freeze(
    Object.entries(providers).map(([name, options]) => resolveProvider(name, options, settingName)),
  )
}

/** The variable suffix of each field: `OIDC_<NAME>_<SUFFIX>`. */
const FIELD_VARIABLES = {
  kind: 'KIND',
  issuer: 'ISSUER',
  clientId: 'CLIENT_ID',
  clientSecret: 'CLIENT_SECRET',
  scopes: 'SCOPES',
  redirectUri: 'REDIRECT_URI',
  apiUrl: 'API_URL',
  label: 'LABEL',
} as const satisfies Record<keyof OIDCProviderOptions, string>

/** The variable of a provider's field: `OIDC_GOOGLE_CLIENT_ID`. */
export const providerVariable: ProviderSettingName = (name, field) =>
  `OIDC_${name.toUpperCase()}_${FIELD_VARIABLES[field]}`

/**
 * Reads `OIDC_<NAME>_*` for each name of `OIDC_PROVIDERS` into the `providers` option, and checks
 * it: an error names the variable (`OIDC_GOOGLE_ISSUER: required`).
 */
export function readProvidersEnv(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): Record<string, OIDCProviderOptions> {
  const providers: Record<string, OIDCProviderOptions> = {}
  for (const raw of names) {
    const name = raw.toLowerCase()
    if (!PROVIDER_NAME.test(name)) {
      throw new ConfigError(
        'OIDC_PROVIDERS',
        `${JSON.stringify(raw)}: use 1 to 32 of a-z 0-9 _, a letter first`,
      )
    }
    const read = (field: keyof OIDCProviderOptions) => {
      const text = env[providerVariable(name, field)]?.trim()
      return text === undefined || text === '' ? undefined : text
    }
    const options: Record<string, unknown> = {}
    for (const field of Object.keys(FIELD_VARIABLES) as (keyof OIDCProviderOptions)[]) {
      const text = read(field)
      if (text === undefined) continue
      options[field] = field === 'scopes' ? text.split(/[\s,]+/).filter((s) => s !== '') : text
    }
    if (options.kind !== undefined) options.kind = String(options.kind).toLowerCase()
    providers[name] = options as unknown as OIDCProviderOptions
  }
  resolveProviders(providers, providerVariable)
  return providers
}
