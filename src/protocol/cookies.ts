/** Cookie names of the reference design. */
export const ACCESS_COOKIE = 'accessToken'
export const REFRESH_COOKIE = 'refreshToken'

/**
 * Cookie name prefixes (OWASP): `host` names the access cookie `__Host-accessToken` and the
 * refresh cookie `__Secure-refreshToken`; `secure` gives both `__Secure-`; `none` keeps the
 * reference design's names.
 */
export const COOKIE_PREFIXES = ['none', 'secure', 'host'] as const
/** One of {@link COOKIE_PREFIXES}. */
export type CookiePrefix = (typeof COOKIE_PREFIXES)[number]

/** The names the token cookies carry under a `cookiePrefix`. */
export interface CookieNames {
  access: string
  refresh: string
}

/**
 * Cookie names for a prefix. A `__Host-` cookie must have `Path=/`, so only the access cookie can
 * take it; the refresh cookie (`Path=/auth`) takes `__Secure-`. Browsers refuse to let a
 * non-secure page or a sibling subdomain set a prefixed cookie, which stops cookie injection.
 */
export function resolveCookieNames(prefix: CookiePrefix): CookieNames {
  switch (prefix) {
    case 'host':
      return { access: `__Host-${ACCESS_COOKIE}`, refresh: `__Secure-${REFRESH_COOKIE}` }
    case 'secure':
      return { access: `__Secure-${ACCESS_COOKIE}`, refresh: `__Secure-${REFRESH_COOKIE}` }
    default:
      return { access: ACCESS_COOKIE, refresh: REFRESH_COOKIE }
  }
}
