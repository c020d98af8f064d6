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
})
/** One active session of the user (`GET /sessions`). */
export type SessionEntry = z.infer<typeof sessionEntrySchema>

/** `data` of `POST /logout-all`: how many sessions it ended, the current one included. */
export const revokedCountSchema = z.object({ revoked: z.int().min(0) })
/** `data` of `POST /logout-all`. */
export type RevokedCount = z.infer<typeof revokedCountSchema>

/** The `data` of a token response. Tokens are absent in cookie mode. */
export const tokenResponseSchema = z.object({
  user: publicUserSchema,
  tokenType: z.literal('Bearer'),
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
