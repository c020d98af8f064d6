/**
 * The client's errors. They carry the stable `code` of API.md, so that a caller branches on the
 * code and never on a message. The client keeps its own copy of the list because it must not
 * import the server (a test pins the two lists together).
 */

/** API.md's error codes, as the server sends them in `code`. */
export const API_ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'missing_token',
  'token_expired',
  'invalid_token',
  'session_revoked',
  'missing_refresh_token',
  'invalid_refresh_token',
  'refresh_token_reused',
  'invalid_credentials',
  'csrf_rejected',
  'forbidden',
  'email_unverified',
  'not_found',
  'invalid_email_token',
  'invalid_reset_token',
  'username_taken',
  'email_taken',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'unavailable',
] as const

/** One of {@link API_ERROR_CODES}. */
export type APIErrorCode = (typeof API_ERROR_CODES)[number]

/**
 * Codes the client raises itself, without an answer from the server:
 * - `network_error`: the request did not complete (offline, refused, timed out);
 * - `invalid_response`: the server answered something that is not API.md's envelope;
 * - `refresh_limit`: the bound on refresh attempts per minute was reached (a refresh loop is stopped);
 * - `not_signed_in`: a call that needs a session was made while the client holds none.
 */
export const CLIENT_ERROR_CODES = [
  'network_error',
  'invalid_response',
  'refresh_limit',
  'not_signed_in',
] as const

/** One of {@link CLIENT_ERROR_CODES}. */
export type ClientOnlyErrorCode = (typeof CLIENT_ERROR_CODES)[number]

/** Every code a {@link ClientError} can carry. */
export type ClientErrorCode = APIErrorCode | ClientOnlyErrorCode

/** A problem with one field, from a `validation_failed` answer. */
export interface ClientFieldError {
  /** Dotted path of the field, e.g. `email`. */
  path: string
  /** What is wrong with it, for people. */
  message: string
}

/**
 * An error of the tokenpair client.
 *
 * @example
 * ```ts
 * try { await client.login({ login: 'ada', password }) }
 * catch (e) { if (e instanceof ClientError && e.code === 'invalid_credentials') showWrongPassword() }
 * ```
 */
export class ClientError extends Error {
  /** The stable code: API.md's, or one of {@link CLIENT_ERROR_CODES}. */
  readonly code: ClientErrorCode
  /** HTTP status of the answer; `0` when there was no answer. */
  readonly status: number
  /** Field problems of a `validation_failed` answer; empty otherwise. */
  readonly errors: readonly ClientFieldError[]
  /** Seconds to wait, from `Retry-After` of a `429`; `null` otherwise. */
  readonly retryAfterSeconds: number | null

  constructor(
    code: ClientErrorCode,
    message: string,
    options: {
      status?: number
      errors?: readonly ClientFieldError[]
      retryAfterSeconds?: number | null
      cause?: unknown
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? 0
    this.errors = options.errors ?? []
    this.retryAfterSeconds = options.retryAfterSeconds ?? null
    this.name = this.constructor.name
  }
}

/**
 * The session is over and no refresh can bring it back (the refresh token was refused, the
 * session was revoked, or the user logged out). Every request that waited on the failed refresh
 * gets this error; `onSessionEnd` fires once.
 */
export class SessionEndedError extends ClientError {}

/** Whether `value` is one of API.md's codes. */
export function isAPIErrorCode(value: unknown): value is APIErrorCode {
  return typeof value === 'string' && (API_ERROR_CODES as readonly string[]).includes(value)
}
