import { resolveFunction, resolveOrigin, resolveSessionCap } from './option-checks.js'
import { type ResolvedWebAuthn, resolveWebAuthn, type WebAuthnOptions } from './webauthn-options.js'

export type { WebAuthnOptions }

import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from '../common/algorithms.js'
import { type Duration, type DurationBounds, MAX_TIMER_MS, resolveDuration } from '../common/duration.js'
import { type AuthLogger, SILENT_LOGGER } from '../common/logger.js'
import { ConfigError } from '../errors.js'
import type { SecurityEventListener } from '../events/events.js'
import {
  type RateLimitOptions,
  type ResolvedRateLimits,
  resolveRateLimits,
} from '../limits/rate-limit-settings.js'
import {
  type MailOptions,
  type ResolvedMailOptions,
  resolveAppUrl,
  resolveMailOptions,
} from '../mail/mail-options.js'
import { COOKIE_PREFIXES, type CookiePrefix } from '../protocol/cookies.js'
import type { CustomClaims } from '../protocol/reserved-claims.js'
import type { DatabaseHandle } from '../storage/database-handle.js'
import type { Storage, UserMetadata } from '../storage/storage.js'
import { DEFAULT_TABLE_PREFIX } from '../storage/table-prefix.js'
import { type AuthHooks, type ClaimsFunction, type PasswordValidator, resolveHooks } from './app-options.js'
import { type ResolvedDatabase, resolveDatabase } from './database-option.js'
import { type MetadataOptions, type ResolvedMetadata, resolveMetadata } from './metadata-options.js'
import { type OIDCProviderOptions, type ResolvedOIDCProvider, resolveProviders } from './oidc-providers.js'

/** The smallest secret accepted: 32 characters, about 190 bits from a random base64 string. */
export const MIN_SECRET_LENGTH = 32

/**
 * Options of `createAuth`. {@link OPTION_DEFAULTS} holds the defaults (docs/configuration.md lists
 * them). `C` is the type of the app's own access-token claims (`claims`).
 */
export interface AuthOptions<C extends CustomClaims = CustomClaims, M extends UserMetadata = UserMetadata> {
  /**
   * A database URL (`sqlite:PATH`, `sqlite::memory:`, `postgres://…`, `mysql://…`, `mongodb://…`),
   * a handle the app holds ({@link DatabaseHandle}: a `pg.Pool`, a `mysql2` pool, a
   * `better-sqlite3` Database, a Kysely instance), or a ready {@link Storage}. `close()` closes
   * only what createAuth opened: a handle or a Storage stays open (docs/embedding.md).
   */
  database: string | DatabaseHandle | Storage
  /**
   * `TABLE_PREFIX`: the prefix of tokenpair's tables, indexes and constraints (MongoDB: its
   * collections), so that they sit beside the app's own in one database. A lower-case letter,
   * then lower-case letters, digits and `_`, at most 24 characters. Not with a ready Storage,
   * which names its own. Default `tp_`.
   */
  tablePrefix?: string
  /**
   * `AUTH_SECRET`: encrypts private keys at rest and derives the refresh-token key. At least 32
   * characters. Required unless `algorithm` is `HS256` with both token secrets given.
   */
  secret?: string
  /** Access-token algorithm. Default `EdDSA`. */
  algorithm?: AccessTokenAlgorithm
  /** HS256 secret for access tokens (the reference design's `ACCESS_TOKEN_SECRET`). */
  accessTokenSecret?: string
  /** HS256 secret for refresh tokens (`REFRESH_TOKEN_SECRET`). Default: derived from `secret`. */
  refreshTokenSecret?: string
  /** `iss` of every token. Default `tokenpair`. */
  issuer?: string
  /** `aud` of access tokens. Default `tokenpair`. */
  audience?: string
  /** Access-token lifetime. Default `15m`. */
  accessTokenTtl?: Duration
  /** Refresh-token idle lifetime, renewed by each rotation. Default `7d`. */
  refreshTokenTtl?: Duration
  /** Absolute lifetime of a session (one login). Default `30d`. */
  sessionMaxAge?: Duration
  /**
   * How long a used refresh token may be presented again and get the successor its first use
   * issued (one lineage per session, docs/security.md). Default `10s`; `0` disables.
   */
  refreshReuseGrace?: Duration
  /** Origins allowed, besides the server's own, to make cookie-borne state changes. Default none. */
  allowedOrigins?: readonly string[]
  /** `Secure` attribute of the cookies. Default `true`. */
  cookieSecure?: boolean
  /** Where the router is mounted; the refresh cookie's `Path`. Default `/auth`. */
  basePath?: string
  /** Clock skew tolerated when checking `exp`, `nbf` and `iat`. Default `5s`. */
  clockTolerance?: Duration
  /** Where log lines go. Default: nowhere. */
  logger?: AuthLogger
  /**
   * Brute-force limits (docs/security.md): per-login-name-and-IP, per-name and per-IP failed
   * logins, registrations and refreshes per IP, password-reset requests. Counters in memory, or in
   * Redis with `redisUrl`. `false` turns every limit off (benchmarks only). Default: the limits of
   * `DEFAULT_RATE_LIMITS`, in memory.
   */
  rateLimit?: RateLimitOptions | false
  /**
   * How long `requireAuth()` (which checks the session by default) may trust a session status it read, so that the
   * check costs a storage read per session per window rather than per request. Revocations made
   * through this instance take effect at once; those made elsewhere within this time. `0` disables
   * the cache. Default `2s`.
   */
  sessionCheckCacheTtl?: Duration
  /**
   * Cookie name prefixes (OWASP): `host` names the access cookie `__Host-accessToken` and the
   * refresh cookie `__Secure-refreshToken` (its `Path` is the base path, which `__Host-` forbids);
   * `secure` gives both `__Secure-`. Both need `cookieSecure`. Default `none` (the reference
   * design's names).
   */
  cookiePrefix?: CookiePrefix
  /** Called with every security event (login, refresh reuse, revocation...). Never blocks a request. */
  onEvent?: SecurityEventListener
  /**
   * How often signing keys are re-read from storage, so that a rotation made elsewhere (the
   * `tokenpair keys rotate` CLI, another instance) takes effect without a restart. Default `60s`.
   */
  keyReloadInterval?: Duration
  /**
   * How often dead sessions, expired refresh tokens and expired mail tokens are deleted
   * (`Storage.deleteExpired`). Default `1h`; `0` turns the sweep off (run `auth.sweep()` yourself).
   */
  sweepInterval?: Duration
  /**
   * `APP_URL`: where the pages `/verify-email` and `/reset-password` live; mail links start with
   * it. Default: the request's own origin, but only when its host is loopback (`localhost`,
   * `127.0.0.1`, `[::1]`) or one of `allowedOrigins`: a `Host` header is the client's to choose,
   * and a reset link built from a forged one would mail the token to the forger's site
   * (docs/email.md). Set it in production.
   */
  appUrl?: string
  /** Lifetime of a verification link (`EMAIL_VERIFY_TTL`). Default `24h`. */
  emailVerifyTtl?: Duration
  /** Lifetime of a password-reset link (`PASSWORD_RESET_TTL`). Default `1h`. */
  passwordResetTtl?: Duration
  /** Outgoing mail: SMTP, outbox folder, sender, templates, retries (docs/email.md). Default: `.eml` files in `./data/outbox`. */
  mail?: MailOptions
  /**
   * `MAX_SESSIONS_PER_USER`: the most live sessions one user may hold; past it, a new login
   * revokes the user's least recently used sessions (reason `session_limit`). Default: no cap.
   */
  maxSessionsPerUser?: number
  /**
   * The app's own claims for every access token, at login and at each refresh (docs/embedding.md).
   * Reserved names (`iss`, `sub`, `sid`, `exp`, `amr`, `cnf`, … `RESERVED_CLAIMS`) are refused;
   * at most 2 KiB of JSON. Default: none.
   *
   * @example
   * ```ts
   * claims: async ({ user }) => ({ tenant: await tenantOf(user.id) })
   * ```
   */
  claims?: ClaimsFunction<C>
  /**
   * The app's hooks into registration and login: `beforeRegister`, `afterRegister`, `afterLogin`,
   * `beforeSessionCreate` (their order and rules: {@link AuthHooks}). Default: none.
   */
  hooks?: AuthHooks
  /** The app's own rule for new passwords, after tokenpair's ({@link PasswordValidator}). Default: none. */
  validatePassword?: PasswordValidator
  /** The app's own data on each user: a zod schema and the fields the user may write ({@link MetadataOptions}). */
  metadata?: MetadataOptions<M>
  /**
   * Identity providers to sign in with (`OIDC_PROVIDERS`, `OIDC_<NAME>_*`), by name:
   * `{ google: { issuer: 'https://accounts.google.com', clientId, clientSecret }, github: {
   * clientId, clientSecret } }` (docs/oidc.md). Default none.
   */
  providers?: Readonly<Record<string, OIDCProviderOptions>>
  /**
   * `DPOP`: sender-constrained sessions (RFC 9449, docs/security.md). `optional` binds a session to
   * the client's key when its login carries a `DPoP` proof, and from then on every refresh needs a
   * proof by that key; `required` refuses a login or refresh without one; `off` ignores proofs.
   * Default `optional`.
   */
  dpop?: DPoPMode
  /**
   * `DPOP_NONCE`: demand a server nonce (RFC 9449 §8) in the proofs of logins and refreshes, handed
   * out in `DPoP-Nonce` and renewed every 5 minutes (`401 use_dpop_nonce` with the nonce when a
   * proof lacks it; the client retries by itself). Default `false`.
   */
  dpopNonce?: boolean
  /**
   * `REAUTH_MAX_AGE`: for an account without a password, how recent a session's last
   * authentication must be to stand in for `currentPassword` in a sensitive change. Default `5m`.
   */
  reauthMaxAge?: Duration
  /** Passkeys' relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`). */
  webauthn?: WebAuthnOptions
}

/** The values of {@link AuthOptions.dpop}. */
export const DPOP_MODES = ['off', 'optional', 'required'] as const
/** One of {@link DPOP_MODES}. */
export type DPoPMode = (typeof DPOP_MODES)[number]

/** {@link AuthOptions} with every default applied, durations in milliseconds, frozen. */
export interface ResolvedOptions extends ResolvedDatabase {
  readonly secret: string | null
  readonly algorithm: AccessTokenAlgorithm
  readonly accessTokenSecret: string | null
  readonly refreshTokenSecret: string | null
  readonly issuer: string
  readonly audience: string
  readonly accessTokenTtlMs: number
  readonly refreshTokenTtlMs: number
  readonly sessionMaxAgeMs: number
  readonly refreshReuseGraceMs: number
  readonly clockToleranceMs: number
  readonly allowedOrigins: readonly string[]
  readonly cookieSecure: boolean
  readonly basePath: string
  readonly logger: AuthLogger
  readonly rateLimits: ResolvedRateLimits
  readonly sessionCheckCacheTtlMs: number
  readonly cookiePrefix: CookiePrefix
  readonly onEvent: SecurityEventListener | null
  readonly keyReloadIntervalMs: number
  readonly sweepIntervalMs: number
  readonly appUrl: string | null
  readonly emailVerifyTtlMs: number
  readonly passwordResetTtlMs: number
  readonly mail: ResolvedMailOptions
  /** `null` for no cap. */
  readonly maxSessionsPerUser: number | null
  /** The app's claims function, or `null`. */
  readonly claims: ClaimsFunction | null
  /** The app's hooks, each checked to be a function; frozen. */
  readonly hooks: Readonly<AuthHooks>
  readonly validatePassword: PasswordValidator | null
  readonly metadata: ResolvedMetadata
  /** The identity providers, in the order given. */
  readonly providers: readonly ResolvedOIDCProvider[]
  readonly dpop: DPoPMode
  readonly dpopNonce: boolean
  readonly reauthMaxAgeMs: number
  /** `rpId` `null`: from `appUrl`, else a loopback request's host. */
  readonly webauthn: ResolvedWebAuthn
}

/**
 * The defaults of {@link AuthOptions}, in one place: `resolveOptions` applies them and the
 * server's environment table shows them beside each variable.
 */
export const OPTION_DEFAULTS = Object.freeze({
  algorithm: 'EdDSA',
  issuer: 'tokenpair',
  audience: 'tokenpair',
  accessTokenTtl: '15m',
  refreshTokenTtl: '7d',
  sessionMaxAge: '30d',
  refreshReuseGrace: '10s',
  clockTolerance: '5s',
  allowedOrigins: [],
  cookieSecure: true,
  basePath: '/auth',
  sessionCheckCacheTtl: '2s',
  cookiePrefix: 'none',
  keyReloadInterval: '60s',
  sweepInterval: '1h',
  emailVerifyTtl: '24h',
  passwordResetTtl: '1h',
  dpop: 'optional',
  dpopNonce: false,
  reauthMaxAge: '5m',
  tablePrefix: DEFAULT_TABLE_PREFIX,
} as const satisfies Partial<Record<keyof AuthOptions, unknown>>)

/** The duration options, and the bounds of each (the default maximum is `MAX_LIFETIME_MS`). */
const DURATION_BOUNDS = {
  accessTokenTtl: { min: 1000 },
  refreshTokenTtl: { min: 1000 },
  sessionMaxAge: { min: 1000 },
  refreshReuseGrace: { min: 0 },
  clockTolerance: { min: 0 },
  sessionCheckCacheTtl: { min: 0 },
  // Timers: Node runs a longer delay after 1 ms.
  keyReloadInterval: { min: 100, max: MAX_TIMER_MS },
  sweepInterval: { min: 0, max: MAX_TIMER_MS },
  emailVerifyTtl: { min: 1000 },
  passwordResetTtl: { min: 1000 },
  reauthMaxAge: { min: 0 },
} as const satisfies Partial<Record<keyof AuthOptions, DurationBounds>>

/** A duration option of {@link AuthOptions}. */
export type DurationOption = keyof typeof DURATION_BOUNDS

/**
 * Reads the duration option `name` of `options` in milliseconds, its default and bounds applied.
 * Throws a {@link ConfigError} that names it.
 */
export function resolveDurationOption(
  options: Pick<AuthOptions, DurationOption>,
  name: DurationOption,
): number {
  return resolveDuration(name, options[name], OPTION_DEFAULTS[name], DURATION_BOUNDS[name])
}

function resolveSecret(name: string, value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  if (value.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(name, `too short: at least ${MIN_SECRET_LENGTH} characters are required`)
  }
  return value
}

function resolveCookiePrefix(value: CookiePrefix | undefined, secure: boolean): CookiePrefix {
  const prefix = value ?? OPTION_DEFAULTS.cookiePrefix
  if (!COOKIE_PREFIXES.includes(prefix)) {
    throw new ConfigError('cookiePrefix', `must be one of ${COOKIE_PREFIXES.join(', ')}`)
  }
  // Browsers drop a __Secure- or __Host- cookie that lacks Secure: refuse rather than lose it.
  // Worded without an option name, so that it reads as well under COOKIE_PREFIX.
  if (prefix !== 'none' && !secure) throw new ConfigError('cookiePrefix', `${prefix} needs Secure cookies`)
  return prefix
}

/**
 * Checks `options`, applies the defaults and freezes the result. A wrong setting throws a
 * {@link ConfigError} that names it.
 */
export function resolveOptions<C extends CustomClaims, M extends UserMetadata>(
  options: AuthOptions<C, M>,
): ResolvedOptions {
  const algorithm = options.algorithm ?? OPTION_DEFAULTS.algorithm
  if (!ACCESS_TOKEN_ALGORITHMS.includes(algorithm)) {
    throw new ConfigError(
      'algorithm',
      `unknown algorithm ${JSON.stringify(algorithm)}; use ${ACCESS_TOKEN_ALGORITHMS.join(', ')}`,
    )
  }
  const secret = resolveSecret('secret', options.secret)
  const accessTokenSecret = resolveSecret('accessTokenSecret', options.accessTokenSecret)
  const refreshTokenSecret = resolveSecret('refreshTokenSecret', options.refreshTokenSecret)
  if (algorithm === 'HS256' && accessTokenSecret === null) {
    throw new ConfigError('accessTokenSecret', 'HS256 needs an access-token secret')
  }
  if (secret === null && !(algorithm === 'HS256' && refreshTokenSecret !== null)) {
    throw new ConfigError('secret', `required (at least ${MIN_SECRET_LENGTH} characters)`)
  }
  // With one key for both, an access token would pass the refresh-token check, and back.
  if (accessTokenSecret !== null && accessTokenSecret === (refreshTokenSecret ?? secret)) {
    throw refreshTokenSecret !== null
      ? new ConfigError('refreshTokenSecret', 'must differ from the access-token secret')
      : new ConfigError('accessTokenSecret', 'must differ from the secret')
  }
  const basePath = options.basePath ?? OPTION_DEFAULTS.basePath
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(basePath))
    throw new ConfigError('basePath', 'must be a path such as /auth')
  const cookieSecure = options.cookieSecure ?? OPTION_DEFAULTS.cookieSecure
  const resolved: ResolvedOptions = {
    ...resolveDatabase(options.database, options.tablePrefix),
    secret,
    algorithm,
    accessTokenSecret,
    refreshTokenSecret,
    issuer: options.issuer ?? OPTION_DEFAULTS.issuer,
    audience: options.audience ?? OPTION_DEFAULTS.audience,
    accessTokenTtlMs: resolveDurationOption(options, 'accessTokenTtl'),
    refreshTokenTtlMs: resolveDurationOption(options, 'refreshTokenTtl'),
    sessionMaxAgeMs: resolveDurationOption(options, 'sessionMaxAge'),
    refreshReuseGraceMs: resolveDurationOption(options, 'refreshReuseGrace'),
    clockToleranceMs: resolveDurationOption(options, 'clockTolerance'),
    allowedOrigins: Object.freeze(
      (options.allowedOrigins ?? OPTION_DEFAULTS.allowedOrigins).map((o) =>
        resolveOrigin('allowedOrigins', o),
      ),
    ),
    cookieSecure,
    basePath: basePath.length > 1 ? basePath.replace(/\/+$/, '') : basePath,
    logger: options.logger ?? SILENT_LOGGER,
    rateLimits: resolveRateLimits(options.rateLimit),
    sessionCheckCacheTtlMs: resolveDurationOption(options, 'sessionCheckCacheTtl'),
    cookiePrefix: resolveCookiePrefix(options.cookiePrefix, cookieSecure),
    onEvent: options.onEvent ?? null,
    keyReloadIntervalMs: resolveDurationOption(options, 'keyReloadInterval'),
    sweepIntervalMs: resolveDurationOption(options, 'sweepInterval'),
    appUrl: resolveAppUrl(options.appUrl),
    emailVerifyTtlMs: resolveDurationOption(options, 'emailVerifyTtl'),
    passwordResetTtlMs: resolveDurationOption(options, 'passwordResetTtl'),
    mail: resolveMailOptions(options.mail),
    maxSessionsPerUser: resolveSessionCap(options.maxSessionsPerUser),
    claims: resolveFunction('claims', options.claims),
    hooks: resolveHooks(options.hooks),
    validatePassword: resolveFunction('validatePassword', options.validatePassword),
    metadata: resolveMetadata(options.metadata as MetadataOptions | undefined),
    providers: resolveProviders(options.providers),
    dpop: options.dpop ?? OPTION_DEFAULTS.dpop,
    dpopNonce: options.dpopNonce ?? OPTION_DEFAULTS.dpopNonce,
    reauthMaxAgeMs: resolveDurationOption(options, 'reauthMaxAge'),
    webauthn: resolveWebAuthn(options.webauthn),
  }
  if (!DPOP_MODES.includes(resolved.dpop)) {
    throw new ConfigError('dpop', `must be one of ${DPOP_MODES.join(', ')}`)
  }
  if (resolved.issuer === '') throw new ConfigError('issuer', 'must not be empty')
  if (resolved.audience === '') throw new ConfigError('audience', 'must not be empty')
  return Object.freeze(resolved)
}
