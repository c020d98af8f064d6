/*
 * Where a token-issuing answer puts the tokens. Holds no zod, so that the browser client can
 * import it as a value.
 */

/** The request header that chooses where the tokens go. Without it, both cookies and body. */
export const AUTH_MODE_HEADER = 'X-Auth-Mode'

/** `cookie`: cookies only, no tokens in `data`; `bearer`: tokens in `data` only, no cookies. */
export const AUTH_MODES = ['cookie', 'bearer'] as const
/** One of {@link AUTH_MODES}. */
export type RequestedAuthMode = (typeof AUTH_MODES)[number]
