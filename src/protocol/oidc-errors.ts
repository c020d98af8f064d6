/*
 * The codes a sign-in with an identity provider ends with when it fails: the callback (and the
 * start) answer with a redirect to `returnTo` that carries one of them as `?error=`, never with an
 * envelope, since a browser follows them. No zod here, so that the browser client may import it.
 */

/** The closed list of redirect error codes of the identity-provider routes (docs/api.md). */
export const OIDC_ERROR_CODES = [
  /** A wrong or missing `state`, `nonce` or code, a refused token, a provider that failed. */
  'oidc_failed',
  /** The provider's address belongs to an account not linked to it: log in and link it first. */
  'account_exists',
  /** Linking: this provider account is already linked to another user. */
  'identity_taken',
  /** The provider gave no address (or, for GitHub, no verified primary one). */
  'email_missing',
  /** A link (`?link=1`) started without a valid access token. */
  'login_required',
  /** The user is disabled. */
  'account_disabled',
  /** Too many callbacks from this client. */
  'rate_limited',
] as const

/** One of {@link OIDC_ERROR_CODES}. */
export type OIDCErrorCode = (typeof OIDC_ERROR_CODES)[number]
