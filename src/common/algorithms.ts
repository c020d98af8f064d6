/** Signing algorithms for access tokens. The algorithm is fixed by configuration, never by a token. */
export const ACCESS_TOKEN_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const
/** One of {@link ACCESS_TOKEN_ALGORITHMS}. */
export type AccessTokenAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number]
