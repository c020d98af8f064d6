/**
 * The client's errors. They carry the stable `code` of the HTTP contract (docs/api.md), so that a
 * caller branches on the code and never on a message.
 */
import type { FieldError } from '../protocol/envelope.js'
import { ERROR_CODES, type ErrorCode } from '../protocol/error-codes.js'

/** The server's error codes, as it sends them in `code`. */
export const API_ERROR_CODES: typeof ERROR_CODES = ERROR_CODES

/** One of {@link API_ERROR_CODES}. */
export type APIErrorCode = ErrorCode

/**
 * Codes the client raises itself, without an answer from the server:
 * - `network_error`: the request did not complete (offline, refused, timed out);
 * - `invalid_response`: the server answered something that is not the envelope;
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
export type ClientFieldError = FieldError

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
  /** The stable code: the server's, or one of {@link CLIENT_ERROR_CODES}. */
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

/**
 * `401 mfa_required` from `login()` (or a passkey login that did not verify the user): the password
 * was right and a second factor must follow. Pass {@link MFARequiredError.mfaToken} with a code to
 * `client.verifyMFA()`; the ticket lives 5 minutes and allows 5 wrong codes.
 *
 * @example
 * ```ts
 * try { await client.login({ login, password }) }
 * catch (e) { if (e instanceof MFARequiredError) await client.verifyMFA({ mfaToken: e.mfaToken, code }) }
 * ```
 */
export class MFARequiredError extends ClientError {
  /** The login ticket, opaque. */
  readonly mfaToken: string
  /** What `verifyMFA` accepts: `totp` (`code`) and `recovery_code` (`recoveryCode`). */
  readonly methods: readonly string[]

  constructor(challenge: { mfaToken: string; methods: readonly string[] }, message: string) {
    super('mfa_required', message, { status: 401 })
    this.mfaToken = challenge.mfaToken
    this.methods = [...challenge.methods]
  }
}
