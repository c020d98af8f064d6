import * as client from 'openid-client'
import type { ResolvedOIDCProvider } from '../config/oidc-providers.js'
import { FederationError } from '../errors.js'
import { readGitHubProfile } from './github.js'
import type { ProviderProfile } from './provider-profile.js'

/** How long one request to a provider may take (discovery, token, userinfo, GitHub's API). */
const PROVIDER_TIMEOUT_SECONDS = 10

/** What the start of a sign-in keeps for its callback (in the flow cookie). */
export interface FlowSecrets {
  state: string
  /** `null` for a provider without ID tokens (GitHub). */
  nonce: string | null
  codeVerifier: string
}

/** Fresh `state`, `nonce` and PKCE verifier (openid-client's, 32 random bytes each). */
export function createFlowSecrets(provider: ResolvedOIDCProvider): FlowSecrets {
  return {
    state: client.randomState(),
    nonce: provider.kind === 'oidc' ? client.randomNonce() : null,
    codeVerifier: client.randomPKCECodeVerifier(),
  }
}

/**
 * The relying party of one provider, on openid-client (a certified implementation): discovery on
 * first use (kept once it succeeded, tried again after a failure), the authorization URL with PKCE
 * S256, and the code exchange with every check of the ID token (`iss`, `aud`, signature, `exp`,
 * `nonce`). Provider tokens live only in this call: nothing stores them.
 */
export class RelyingParty {
  readonly provider: ResolvedOIDCProvider
  #configuration: Promise<client.Configuration> | null = null

  constructor(provider: ResolvedOIDCProvider) {
    this.provider = provider
  }

  /** The provider's metadata and this client, discovered (OIDC) or known (GitHub). */
  #configure(): Promise<client.Configuration> {
    this.#configuration ??= this.#discover().catch((error: unknown) => {
      // A provider that was down must not stay broken for the life of the process.
      this.#configuration = null
      throw error
    })
    return this.#configuration
  }

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, kind } = this.provider
    const auth = clientSecret === null ? client.None() : undefined
    const metadata = clientSecret === null ? undefined : clientSecret
    // Plain http is allowed only where the settings allowed it: a loopback issuer.
    const insecure = new URL(issuer).protocol === 'http:'
    const execute = insecure ? [client.allowInsecureRequests] : []
    let configuration: client.Configuration
    if (kind === 'github') {
      configuration = new client.Configuration(
        {
          issuer,
          authorization_endpoint: `${issuer}/login/oauth/authorize`,
          token_endpoint: `${issuer}/login/oauth/access_token`,
        },
        clientId,
        metadata,
        auth,
      )
      for (const extension of execute) extension(configuration)
    } else {
      configuration = await client.discovery(new URL(issuer), clientId, metadata, auth, {
        execute,
        timeout: PROVIDER_TIMEOUT_SECONDS,
      })
    }
    configuration.timeout = PROVIDER_TIMEOUT_SECONDS
    return configuration
  }

  /** Where to send the browser: the provider's authorization endpoint with this flow's parameters. */
  async authorizationURL(redirectUri: string, secrets: FlowSecrets): Promise<URL> {
    const configuration = await this.#configure().catch((error: unknown) => {
      throw new FederationError('oidc_failed', 'The identity provider could not be reached', { cause: error })
    })
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: this.provider.scopes.join(' '),
      state: secrets.state,
      code_challenge: await client.calculatePKCECodeChallenge(secrets.codeVerifier),
      code_challenge_method: 'S256',
    }
    if (secrets.nonce !== null) parameters.nonce = secrets.nonce
    return client.buildAuthorizationUrl(configuration, parameters)
  }

  /**
   * Completes the flow from the callback's query: checks `state`, exchanges the code with the PKCE
   * verifier, validates the ID token (and its `nonce`), and reads the person's profile (userinfo
   * where the ID token lacks the address; GitHub's API for GitHub). Any failure is a
   * `FederationError('oidc_failed')` whose cause names the check, never the code or a token.
   */
  async completeSignIn(
    redirectUri: string,
    query: URLSearchParams,
    secrets: FlowSecrets,
  ): Promise<ProviderProfile> {
    try {
      const configuration = await this.#configure()
      const currentUrl = new URL(redirectUri)
      for (const [name, value] of query) currentUrl.searchParams.append(name, value)
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: secrets.codeVerifier,
        expectedState: secrets.state,
        ...(secrets.nonce === null ? {} : { expectedNonce: secrets.nonce, idTokenExpected: true }),
      })
      if (this.provider.kind === 'github') {
        return await readGitHubProfile(configuration, this.provider, tokens.access_token)
      }
      return await this.#readOIDCProfile(configuration, tokens)
    } catch (error) {
      if (error instanceof FederationError) throw error
      throw new FederationError('oidc_failed', 'The sign-in with the identity provider failed', {
        cause: error,
      })
    }
  }

  async #readOIDCProfile(
    configuration: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  ): Promise<ProviderProfile> {
    const claims = tokens.claims()
    if (!claims) throw new FederationError('oidc_failed', 'The provider sent no ID token')
    let source: Record<string, unknown> = claims
    if (typeof claims.email !== 'string') {
      // The ID token may leave the address to userinfo (many providers do); the subject must match.
      source = { ...(await client.fetchUserInfo(configuration, tokens.access_token, claims.sub)), ...claims }
    }
    const text = (name: string) => (typeof source[name] === 'string' ? (source[name] as string) : null)
    return {
      provider: this.provider.name,
      issuer: claims.iss,
      subject: claims.sub,
      email: text('email'),
      emailVerified: source.email_verified === true,
      username: text('preferred_username') ?? text('nickname'),
      fullname: text('name'),
    }
  }
}

/**
 * A failed flow for the log: the error's class, the library's error code and the ID-token claim
 * that failed its check (`iss`, `nonce`), found along the cause chain. Never a message, which
 * may quote the provider, nor the cause's other fields (they hold the ID token's claims).
 */
export function describeFlowFailure(error: unknown): { reason: string; check?: string; claim?: string } {
  const found: { reason: string; check?: string; claim?: string } = { reason: 'unknown' }
  let at: unknown = error instanceof FederationError && error.cause !== undefined ? error.cause : error
  found.reason = at instanceof Error ? at.name : typeof at
  for (let depth = 0; depth < 4 && typeof at === 'object' && at !== null; depth++) {
    const { code, claim, cause } = at as { code?: unknown; claim?: unknown; cause?: unknown }
    if (found.check === undefined && typeof code === 'string') found.check = code
    if (found.claim === undefined && typeof claim === 'string') found.claim = claim
    at = cause
  }
  return found
}
