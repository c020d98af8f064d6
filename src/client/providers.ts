import type { ProviderEntry } from '../protocol/wire-schemas.js'
import type { DPoPProver } from './dpop-prover.js'
import { MFARequiredError } from './errors.js'
import type { ClientUser } from './types.js'

/* Sign-in with an identity provider, as a browser does it: a top-level navigation to the start
 * route, the provider's pages, and back to the page through the callback, which sets the cookies
 * (cookie mode) or sends a login ticket in the fragment for a user with a second factor. */

/** What the provider calls need from the client. */
export interface ProviderTransport {
  /** The auth server's URL with its base path. */
  authUrl: string
  /** The client's DPoP key, or `null` without the `dpop` option. */
  prover: DPoPProver | null
  /** A `GET` of an auth route that needs no session; resolves to `data`. */
  get<T>(path: string): Promise<T>
  /** `GET /auth/me` with the session's credentials. */
  me(): Promise<ClientUser>
}

/** Where the start is to send the browser back, and whether it links rather than signs in. */
export interface ProviderStartOptions {
  /** A path of this site to come back to. Default `/`. */
  returnTo?: string
  /** Link the provider to the signed-in user instead of signing in. */
  link?: boolean
}

/** A configured identity provider, for a sign-in button. */
export type ClientProvider = ProviderEntry

/** Sign-in with an identity provider (`client.providers`). */
export interface ProvidersApi {
  /** `GET /auth/oidc/providers`: the configured providers, in order. */
  list(): Promise<ClientProvider[]>
  /**
   * The URL of `GET /auth/oidc/:provider/start`, for the browser to navigate to (a link's `href`).
   * With the `dpop` option it names the client's key (`dpop_jkt`), so that the session the
   * sign-in opens is bound to the key, like one a login opens: a navigation carries no proof.
   */
  startURL(provider: string, options?: ProviderStartOptions): Promise<string>
  /**
   * After the callback sent the browser back to `url` (the page's `location.href`): throws
   * `MFARequiredError` when the fragment holds a login ticket (a user with a second factor; pass
   * it to `verifyMFA` with a code), else resolves to the signed-in user (`GET /auth/me`). Take the
   * ticket out of the address bar first (`history.replaceState`). A failed sign-in comes back
   * with `?error=<code>` instead, which the page reads itself.
   */
  completeSignIn(url: string | URL): Promise<ClientUser>
}

/** The {@link ProvidersApi} over `transport`. */
export function createProvidersApi(transport: ProviderTransport): ProvidersApi {
  return {
    list: () => transport.get<ClientProvider[]>('/oidc/providers'),
    async startURL(provider, options = {}) {
      const url = new URL(`${transport.authUrl}/oidc/${encodeURIComponent(provider)}/start`)
      url.searchParams.set('returnTo', options.returnTo ?? '/')
      if (options.link) url.searchParams.set('link', '1')
      if (transport.prover) url.searchParams.set('dpop_jkt', await transport.prover.thumbprint())
      return url.href
    },
    async completeSignIn(url) {
      const fragment = new URLSearchParams(new URL(url).hash.slice(1))
      const mfaToken = fragment.get('mfa_token')
      if (mfaToken) {
        const methods = (fragment.get('methods') ?? 'totp,recovery_code').split(',')
        throw new MFARequiredError({ mfaToken, methods }, 'Enter a code to finish signing in')
      }
      return transport.me()
    },
  }
}
