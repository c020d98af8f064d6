/* The names of access-token claims that only tokenpair sets, and the type of an app's own claims. */

/**
 * Claims an app may not set, because tokenpair or a standard gives them their meaning: the JWT
 * registered claims (RFC 7519 §4.1), the profile claims of every access token, what a second
 * factor proved (`amr`, `auth_time`, `acr`), the key a DPoP-bound token is bound to (`cnf`), and
 * OAuth's (`scope`, `client_id`, `azp`, `nonce`, `typ`). A claims function that returns one of them
 * is an error of the app: it would otherwise forge what every verifier trusts.
 */
export const RESERVED_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'username',
  'email',
  'fullname',
  'roles',
  'email_verified',
  'amr',
  'auth_time',
  'acr',
  'cnf',
  'scope',
  'client_id',
  'azp',
  'nonce',
  'typ',
] as const

/** One of {@link RESERVED_CLAIMS}. */
export type ReservedClaim = (typeof RESERVED_CLAIMS)[number]

/** A value that survives JSON: what a claim may hold. */
export type ClaimValue =
  | string
  | number
  | boolean
  | null
  | readonly ClaimValue[]
  | { readonly [key: string]: ClaimValue }

/**
 * The claims an app adds to its access tokens: JSON values under names that are not
 * {@link RESERVED_CLAIMS}. A type whose members include a reserved name does not satisfy it, so
 * TypeScript refuses `claims: () => ({ sub: 'x' })`.
 */
export type CustomClaims = { readonly [name: string]: ClaimValue | undefined } & {
  readonly [K in ReservedClaim]?: never
}

/** The claims type of an app without claims of its own (the default of every generic). */
export type NoClaims = Record<never, never>
