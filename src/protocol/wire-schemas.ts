import { z } from 'zod'

/* The `data` of the answers, as zod schemas with their inferred types: the server builds its
 * answers to these types, the client reads them, and the OpenAPI document is generated from them. */

/** ISO 8601 UTC, as every time in JSON. */
const isoTime = z.iso.datetime()

/** A user as the server shows it: no password hash, times as ISO 8601 UTC. */
export const publicUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string(),
  fullname: z.string(),
  roles: z.array(z.string()),
  emailVerified: z.boolean(),
  /** The factors beyond the password: TOTP on or off, and how many passkeys. */
  mfa: z.object({ totp: z.boolean(), passkeys: z.int().min(0) }),
  /**
   * The app's own data on the user (at most 4 KiB of JSON): `{}` unless the app keeps some. The
   * user may set the fields the app made writable, through `PATCH /me`.
   */
  metadata: z.record(z.string(), z.unknown()),
  createdAt: isoTime,
  updatedAt: isoTime,
})
/** A user as the server shows it: no password hash, times as ISO 8601 UTC. */
export type PublicUser = z.infer<typeof publicUserSchema>

/** One active session of the user (`GET /sessions`). */
export const sessionEntrySchema = z.object({
  /** The `sid` of the tokens issued in that session. */
  id: z.string(),
  createdAt: isoTime,
  lastUsedAt: isoTime,
  /** When it ends unless it is used (refreshed) before. */
  expiresAt: isoTime,
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  /** The session the request was made with. */
  current: z.boolean(),
  /** Whether the session is bound to a DPoP key (its tokens work only with proofs by that key). */
  bound: z.boolean(),
})
/** One active session of the user (`GET /sessions`). */
export type SessionEntry = z.infer<typeof sessionEntrySchema>

/** A provider account linked to the user (`GET /identities`). */
export const identityEntrySchema = z.object({
  id: z.string(),
  /** The configured provider's name, e.g. `google`. */
  provider: z.string(),
  /** The address the provider gave at linking, or `null`. */
  email: z.string().nullable(),
  createdAt: isoTime,
})
/** A provider account linked to the user (`GET /identities`). */
export type IdentityEntry = z.infer<typeof identityEntrySchema>

/** A configured identity provider (`GET /oidc/providers`): what a sign-in button needs. */
export const providerEntrySchema = z.object({
  /** The name in the provider's paths: `/oidc/<name>/start`. */
  name: z.string(),
  /** The button text. */
  label: z.string(),
})
/** A configured identity provider (`GET /oidc/providers`). */
export type ProviderEntry = z.infer<typeof providerEntrySchema>

/** `data` of `POST /logout-all`: how many sessions it ended, the current one included. */
export const revokedCountSchema = z.object({ revoked: z.int().min(0) })
/** `data` of `POST /logout-all`. */
export type RevokedCount = z.infer<typeof revokedCountSchema>

/** The `data` of a token response. Tokens are absent in cookie mode. */
export const tokenResponseSchema = z.object({
  user: publicUserSchema,
  /** `DPoP` when the session is bound to the client's key (send `Authorization: DPoP` and a proof). */
  tokenType: z.enum(['Bearer', 'DPoP']),
  /** Absent with `X-Auth-Mode: cookie`. */
  accessToken: z.string().optional(),
  accessTokenExpiresAt: isoTime,
  /** Seconds the access token lives. */
  expiresIn: z.int().min(0),
  /** Absent with `X-Auth-Mode: cookie`. */
  refreshToken: z.string().optional(),
  refreshTokenExpiresAt: isoTime,
})
/** The `data` of a token response. Tokens are absent in cookie mode. */
export type TokenResponseData = z.infer<typeof tokenResponseSchema>

/** Where a refresh token may travel instead of its cookie: the body field `refreshToken`. */
export const refreshBodySchema = z.object({ refreshToken: z.string().max(16_384).optional() })

/** The public JWK Set of `/.well-known/jwks.json`, a bare body (no envelope); empty with HS256. */
export const jwkSetSchema = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') })),
})
/** The public JWK Set as it travels. */
export type PublicJWKSet = z.infer<typeof jwkSetSchema>

/**
 * The revocation feed of `/.well-known/revoked-sessions`, a bare body (no envelope): the sessions
 * revoked from `since` to `until`, newest first. `since` is `until` less the access-token lifetime
 * and the clock leeway, so every session whose access tokens may still be unexpired is there
 * (up to the feed's cap on entries).
 */
export const revokedSessionsSchema = z.object({
  sessions: z.array(z.object({ sid: z.string(), revokedAt: isoTime })),
  since: isoTime,
  until: isoTime,
})
/**
 * The Redis channel (after the key prefix and a colon: `tokenpair:revocations`) on which the auth
 * server says that sessions were revoked, so that listening verifiers read the feed at once.
 */
export const REVOCATIONS_CHANNEL = 'revocations'

/** The revocation feed as it travels. */
export type RevokedSessionsFeed = z.infer<typeof revokedSessionsSchema>
/** `data` of `POST /auth/mfa/totp/setup`: nothing changes until a code confirms it. */
export const totpSetupSchema = z.object({
  /** Base32, for typing into an authenticator app by hand. */
  secret: z.string(),
  /** `otpauth://totp/…`: what the QR code holds. */
  otpauthUrl: z.string(),
  /** The QR code of `otpauthUrl` as an SVG document, rendered by the server. */
  qrCodeSvg: z.string(),
})
/** `data` of `POST /auth/mfa/totp/setup`. */
export type TOTPSetupData = z.infer<typeof totpSetupSchema>

/** `data` of `POST /auth/mfa/totp/confirm` and `POST /auth/mfa/recovery-codes`: shown this once. */
export const recoveryCodesSchema = z.object({ recoveryCodes: z.array(z.string()).length(10) })
/** `data` with the recovery codes. */
export type RecoveryCodesData = z.infer<typeof recoveryCodesSchema>

/** A passkey of the user (`GET /auth/passkeys`). */
export const passkeySchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable(),
})
/** A passkey of the user. */
export type PasskeyEntry = z.infer<typeof passkeySchema>

/** WebAuthn options (`PublicKeyCredentialCreationOptionsJSON` or `…RequestOptionsJSON`), for the browser's API. */
export const webauthnOptionsSchema = z.looseObject({ challenge: z.string() })

/** `data` of `POST /auth/passkeys/login/options`: the challenge's id, to send back with the assertion. */
export const passkeyLoginOptionsSchema = z.object({
  challengeId: z.string(),
  options: webauthnOptionsSchema,
})
/** `data` of `POST /auth/passkeys/login/options`. */
export type PasskeyLoginOptionsData = z.infer<typeof passkeyLoginOptionsSchema>
