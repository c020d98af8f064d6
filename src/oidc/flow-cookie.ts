import { deriveKey, seal, unseal } from '../internal/crypto.js'
import type { FlowSecrets } from './relying-party.js'

/** The cookie that carries a sign-in from its start to its callback. */
export const FLOW_COOKIE = 'tokenpair_oidc'

/** How long a sign-in may take at the provider: the cookie's `Max-Age` and the payload's expiry. */
export const FLOW_LIFETIME_MS = 10 * 60_000

/** What the start hands to the callback. */
export interface FlowState extends FlowSecrets {
  /** Where the browser goes afterwards: a path of this site, already checked. */
  returnTo: string
  /** The user who asked to link this provider (`?link=1`), or `null` for a sign-in. */
  linkUserId: string | null
  /**
   * The DPoP key thumbprint the start named (`?dpop_jkt=`, RFC 9449 §10): the session the
   * callback opens is bound to it. `null` (or absent) for an unbound session.
   */
  dpopJkt?: string | null
  /** Epoch milliseconds after which the callback refuses it. */
  expiresAt: number
}

/**
 * Seals and opens the flow cookie with AES-256-GCM under a key derived from the server's secret
 * (purpose `oidc-flow`): the browser holds `state`, `nonce` and the PKCE verifier but can neither
 * read nor change them, and the provider's name is bound in as associated data, so that a cookie
 * of one provider's flow is refused at another's callback.
 */
export class FlowCookieSealer {
  readonly #key: Buffer

  constructor(secret: string) {
    this.#key = deriveKey(secret, 'oidc-flow')
  }

  seal(provider: string, state: FlowState): string {
    return seal(this.#key, JSON.stringify(state), `oidc-flow:${provider}`)
  }

  /** The state, or `null` when the cookie is missing, forged, of another provider or expired. */
  open(provider: string, sealed: unknown, now: number): FlowState | null {
    if (typeof sealed !== 'string' || sealed.length > 4096) return null
    let state: FlowState
    try {
      state = JSON.parse(unseal(this.#key, sealed, `oidc-flow:${provider}`)) as FlowState
    } catch {
      return null
    }
    if (typeof state.expiresAt !== 'number' || state.expiresAt <= now) return null
    return state
  }
}
