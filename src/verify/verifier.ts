import type { RequestHandler } from 'express'
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose'
import type { Duration } from '../common/duration.js'
import { parseDuration } from '../common/duration.js'
import { AuthError, ConfigError } from '../errors.js'
import { createRequireAuth, type RequireAuthOptions } from '../express/require-auth.js'
import {
  type AccessTokenClaims,
  COMPACT_JWS,
  MAX_TOKEN_LENGTH,
  readAccessTokenClaims,
} from '../tokens/claims.js'
import { isStrictCompactJWS } from '../tokens/strict-jws.js'

/** Asymmetric algorithms a JWKS-only verifier accepts (HS256 has no public key to publish). */
export const VERIFIER_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
/** One of {@link VERIFIER_ALGORITHMS}. */
export type VerifierAlgorithm = (typeof VERIFIER_ALGORITHMS)[number]

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /** The auth server's JWK Set, e.g. `https://auth.example.com/.well-known/jwks.json`. */
  jwksUrl: string | URL
  /** Expected `iss` (the server's `JWT_ISSUER`). */
  issuer: string
  /** Expected `aud` (the server's `JWT_AUDIENCE`). */
  audience: string
  /** Algorithms accepted; a token's own `alg` header never widens this list. Default `['EdDSA']`. */
  algorithms?: readonly VerifierAlgorithm[]
  /** Clock skew tolerated for `exp`, `nbf`, `iat`. Default `5s`. */
  clockTolerance?: Duration
  /** Least time between two JWKS fetches caused by an unknown `kid`. Default `10s`. */
  cooldown?: Duration
  /** How long a fetched JWK Set is used before it is fetched again. Default `10m`. */
  cacheMaxAge?: Duration
  /** Time allowed for one JWKS fetch. Default `5s`. */
  timeout?: Duration
  /** Origins allowed, besides the request's own, for cookie-borne state changes. Default none. */
  allowedOrigins?: readonly string[]
}

/** A verifier of the auth server's access tokens, from its public keys alone. */
export interface Verifier {
  /** Verifies an access token; throws `AuthError` (`token_expired`, `invalid_token`, `unavailable`). */
  verify(token: string): Promise<AccessTokenClaims>
  /** The same `requireAuth({ roles })` middleware as the auth server's, minus `checkSession`. */
  requireAuth(options?: Omit<RequireAuthOptions, 'checkSession'>): RequestHandler
}

function readDuration(name: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const ms = typeof value === 'number' ? value : parseDuration(value)
  if (ms === null || !Number.isFinite(ms) || ms < 0) throw new ConfigError(name, 'not a duration')
  return ms
}

/**
 * Creates a verifier for a service that holds no database: it fetches the auth server's JWK Set,
 * caches it, and fetches it again when a token names an unknown `kid` (a rotated-in key), at most
 * once per `cooldown`. The algorithm comes from this configuration, never from the token.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'tokenpair/verify'
 * const verifier = createVerifier({
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 *   issuer: 'tokenpair',
 *   audience: 'tokenpair',
 * })
 * app.get('/api/notes', verifier.requireAuth(), (req, res) => res.json({ user: req.auth!.userId }))
 * app.delete('/api/users/:id', verifier.requireAuth({ roles: ['admin'] }), handler)
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  let url: URL
  try {
    url = new URL(options.jwksUrl)
  } catch {
    throw new ConfigError('jwksUrl', 'not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('jwksUrl', 'must be http(s)')
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new ConfigError('issuer', 'required')
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new ConfigError('audience', 'required')
  }
  const algorithms = [...(options.algorithms ?? ['EdDSA'])]
  if (algorithms.length === 0 || algorithms.some((a) => !VERIFIER_ALGORITHMS.includes(a))) {
    throw new ConfigError('algorithms', `use a non-empty list of ${VERIFIER_ALGORITHMS.join(', ')}`)
  }
  const clockToleranceSeconds = Math.floor(
    readDuration('clockTolerance', options.clockTolerance, 5000) / 1000,
  )
  const jwks = createRemoteJWKSet(url, {
    cooldownDuration: readDuration('cooldown', options.cooldown, 10_000),
    cacheMaxAge: readDuration('cacheMaxAge', options.cacheMaxAge, 600_000),
    timeoutDuration: readDuration('timeout', options.timeout, 5000),
  })
  const issuer = options.issuer
  const audience = options.audience

  async function verify(token: string): Promise<AccessTokenClaims> {
    // The same strict reading as the auth server's: canonical base64url, no duplicated JSON names.
    if (
      typeof token !== 'string' ||
      token.length > MAX_TOKEN_LENGTH ||
      !COMPACT_JWS.test(token) ||
      !isStrictCompactJWS(token)
    ) {
      throw new AuthError('invalid_token', 'Access token is malformed')
    }
    let payload: JWTPayload
    try {
      const result = await jwtVerify(token, jwks, {
        algorithms,
        typ: 'at+jwt',
        issuer,
        audience,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      })
      payload = result.payload
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new AuthError('token_expired', 'Access token has expired')
      // The keys could not be fetched: this service cannot decide, which is not the token's fault.
      if (
        error instanceof joseErrors.JWKSTimeout ||
        error instanceof joseErrors.JWKSInvalid ||
        (error instanceof Error && !(error instanceof joseErrors.JOSEError))
      ) {
        throw new AuthError('unavailable', 'Cannot fetch the signing keys', { cause: error })
      }
      throw new AuthError('invalid_token', 'Access token is invalid')
    }
    return readAccessTokenClaims(payload, Date.now(), clockToleranceSeconds * 1000)
  }

  const allowedOrigins = Object.freeze([...(options.allowedOrigins ?? [])])
  return Object.freeze({
    verify,
    requireAuth: (opts?: Omit<RequireAuthOptions, 'checkSession'>) =>
      createRequireAuth({ verify, allowedOrigins }, { ...opts, checkSession: false }),
  })
}
