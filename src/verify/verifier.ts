import { KeyObject } from 'node:crypto'
import type { Request, RequestHandler } from 'express'
import { createRemoteJWKSet, type JWSHeaderParameters, errors as joseErrors } from 'jose'
import { type Duration, MAX_TIMER_MS, resolveDuration } from '../common/duration.js'
import { AuthError, ConfigError } from '../errors.js'
import {
  createRequireAuth,
  type RequestAuth,
  type RequireAuthOptions,
  readRequestAuth,
} from '../express/require-auth.js'
import { isLoopbackHost } from '../internal/loopback.js'
import { REVOCATIONS_CHANNEL } from '../protocol/wire-schemas.js'
import { readAccessTokenClaims } from '../tokens/claims.js'
import { createVerificationKey, type VerificationKey } from '../tokens/compact-jws.js'
import type { ClaimsWith, CustomClaims, NoClaims } from '../tokens/custom-claims.js'
import { MemoryDPoPReplayStore } from '../tokens/dpop-replay.js'
import { verifyCompactJWS } from '../tokens/jws-verify.js'
import { RevocationList } from './revocation-list.js'
import { createSharedReplayStore } from './shared-replay.js'

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
  /**
   * Accept an `http://` `jwksUrl` on a host other than loopback (`localhost`, 127.0.0.0/8,
   * `[::1]`), e.g. inside a private network. Default `false`: whoever can alter plain-http
   * answers on the way could serve their own keys.
   */
  allowInsecureJwksUrl?: boolean
  /**
   * Refuse tokens of sessions the auth server revoked (`401 session_revoked`), read from its
   * revocation feed every `revocationPollInterval`: a logout, a reuse detection or a disabled user
   * reaches this service within that time, although access tokens stay stateless. While the feed
   * cannot be read (before the first reading, or for three intervals in a row), tokens are answered
   * `503 unavailable` rather than trusted. Default `false`.
   */
  revocations?: boolean
  /** How often the revocation feed is read (with `revocations`). Default `5s`. */
  revocationPollInterval?: Duration
  /**
   * The auth server's revocation feed. Default: `revoked-sessions` beside `jwksUrl`
   * (`https://auth.example.com/.well-known/revoked-sessions`).
   */
  revocationsUrl?: string | URL
  /**
   * A Redis (the auth server's `REDIS_URL`; needs `ioredis`): with `revocations`, the verifier
   * listens there and reads the feed at once when the server announces a revocation, rather than
   * at the next poll; and the DPoP proofs any instance of this service accepted are remembered
   * there, so that one replayed to another instance is refused. Default: poll only, proofs in memory.
   */
  redisUrl?: string
  /** The channel the auth server announces revocations on. Default `tokenpair:revocations` (its key prefix, then `revocations`). */
  redisChannel?: string
}

/**
 * A verifier of the auth server's access tokens, from its public keys alone. `C` is the type of
 * the auth server's own claims (its `claims` option), which the verifier hands on as they are.
 */
export interface Verifier<C extends CustomClaims = NoClaims> {
  /** Verifies an access token; throws `AuthError` (`token_expired`, `invalid_token`, `unavailable`). */
  verify(token: string): Promise<ClaimsWith<C>>
  /** The same `requireAuth({ roles })` middleware as the auth server's, minus `checkSession`. */
  requireAuth(options?: Omit<RequireAuthOptions, 'checkSession'>): RequestHandler
  /** `req.auth` with the claims typed, behind `requireAuth()`; `401 missing_token` where none ran. */
  readAuth(req: Request): RequestAuth<C>
  /** Stops reading the revocation feed (with `revocations`); nothing to do otherwise. */
  close(): void
}

/** Whether jose gave no key because the JWK Set could not be had (not the token's fault), not because none fits. */
function isKeySetUnavailable(error: unknown): boolean {
  return (
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    (error instanceof Error && !(error instanceof joseErrors.JOSEError))
  )
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
export function createVerifier<C extends CustomClaims = NoClaims>(options: VerifierOptions): Verifier<C> {
  const url = resolveServerURL('jwksUrl', options.jwksUrl, options)
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new ConfigError('issuer', 'required')
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new ConfigError('audience', 'required')
  }
  const algorithms = [...(options.algorithms ?? ['EdDSA'])]
  if (algorithms.length === 0 || algorithms.some((a) => !VERIFIER_ALGORITHMS.includes(a))) {
    throw new ConfigError('algorithms', `use a non-empty list of ${VERIFIER_ALGORITHMS.join(', ')}`)
  }
  const clockToleranceMs = resolveDuration('clockTolerance', options.clockTolerance, '5s')
  const timeoutMs = resolveDuration('timeout', options.timeout, '5s', { max: MAX_TIMER_MS })
  const jwks = createRemoteJWKSet(url, {
    cooldownDuration: resolveDuration('cooldown', options.cooldown, '10s'),
    cacheMaxAge: resolveDuration('cacheMaxAge', options.cacheMaxAge, '10m'),
    timeoutDuration: timeoutMs,
  })
  if (options.redisUrl !== undefined && !/^rediss?:\/\//.test(options.redisUrl)) {
    throw new ConfigError('redisUrl', 'must start with redis:// or rediss://')
  }
  const revocations = options.revocations === true ? createRevocationList(options, url, timeoutMs) : null
  const expected = Object.freeze({ issuer: options.issuer, audience: options.audience, clockToleranceMs })
  // jose keeps one CryptoKey per JWK of the set it holds; each is turned into a KeyObject once.
  const verificationKeys = new WeakMap<CryptoKey, VerificationKey>()

  /** The key of the JWK Set that jose picks for this header (kid, alg), fetching the set as needed. */
  async function findKey(header: Record<string, unknown>): Promise<VerificationKey | undefined> {
    let cryptoKey: CryptoKey
    try {
      cryptoKey = await jwks(header as JWSHeaderParameters)
    } catch (error) {
      if (isKeySetUnavailable(error)) {
        throw new AuthError('unavailable', 'Cannot fetch the signing keys', { cause: error })
      }
      return undefined
    }
    let key = verificationKeys.get(cryptoKey)
    if (key === undefined) {
      try {
        key = createVerificationKey(header.alg as VerifierAlgorithm, KeyObject.from(cryptoKey))
      } catch (error) {
        // The set publishes a key unfit for its algorithm (RSA under 2048 bits): the server's fault.
        throw new AuthError('unavailable', 'The signing key is unfit for its algorithm', { cause: error })
      }
      verificationKeys.set(cryptoKey, key)
    }
    return key
  }

  async function verify(token: string): Promise<ClaimsWith<C>> {
    // The same reading and checks as the auth server's (jws-verify.ts, claims.ts).
    const { payload } = await verifyCompactJWS(token, {
      code: 'invalid_token',
      name: 'Access token',
      algorithms,
      typ: 'at+jwt',
      findKey,
    })
    const claims = readAccessTokenClaims(payload, expected) as ClaimsWith<C>
    await revocations?.assertNotRevoked(claims.sid)
    return claims
  }

  const allowedOrigins = Object.freeze([...(options.allowedOrigins ?? [])])
  // DPoP proofs seen by this service: a bound token needs a fresh one on every request. With
  // `redisUrl` they are shared by every instance; else remembered by this process alone.
  const shared = options.redisUrl === undefined ? null : createSharedReplayStore(options.redisUrl)
  const dpop = { replay: shared?.store ?? new MemoryDPoPReplayStore(), clockToleranceMs }
  return Object.freeze({
    verify,
    requireAuth: (opts?: Omit<RequireAuthOptions, 'checkSession'>) =>
      createRequireAuth({ verify, allowedOrigins, dpop }, { ...opts, checkSession: false }),
    readAuth: (req: Request) => readRequestAuth<C>(req),
    close: () => {
      revocations?.close()
      shared?.close()
    },
  })
}

/** A URL of the auth server: http(s), and https off loopback unless `allowInsecureJwksUrl`. */
function resolveServerURL(name: string, value: string | URL, options: VerifierOptions): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, 'not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(name, 'must be http(s)')
  // Over plain http anyone on the path could serve their own keys (or hide revocations).
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && options.allowInsecureJwksUrl !== true) {
    throw new ConfigError(name, 'must be https (or http on loopback), unless allowInsecureJwksUrl is true')
  }
  return url
}

/** The poller of `revocations: true`, its options checked. */
function createRevocationList(options: VerifierOptions, jwksUrl: URL, timeoutMs: number): RevocationList {
  const url = resolveServerURL(
    'revocationsUrl',
    options.revocationsUrl ?? new URL('revoked-sessions', jwksUrl),
    options,
  )
  const intervalMs = resolveDuration('revocationPollInterval', options.revocationPollInterval, '5s', {
    min: 100,
    max: MAX_TIMER_MS,
  })
  const redis =
    options.redisUrl === undefined
      ? undefined
      : { url: options.redisUrl, channel: options.redisChannel ?? `tokenpair:${REVOCATIONS_CHANNEL}` }
  return new RevocationList({ url, intervalMs, timeoutMs, ...(redis ? { redis } : {}) })
}
