/**
 * Every error tokenpair raises on purpose is an {@link AuthError} with a stable `code`: the codes of
 * docs/api.md, and nothing else. `message` is for people and may change; `code` is for programs.
 */
import type { FieldError, MFAChallenge } from './protocol/envelope.js'
import { ALTERNATE_STATUS, type ErrorCode } from './protocol/error-codes.js'
import type { OIDCErrorCode } from './protocol/oidc-errors.js'

export type { FieldError } from './protocol/envelope.js'
export { ERROR_CODES, type ErrorCode } from './protocol/error-codes.js'

/**
 * The error of tokenpair. Never holds a token, password or secret in its message.
 *
 * @example
 * ```ts
 * try { await auth.verifyAccessToken(token) }
 * catch (e) { if (e instanceof AuthError && e.code === 'token_expired') refresh() }
 * ```
 */
export class AuthError extends Error {
  /** The stable, machine-readable code. */
  readonly code: ErrorCode
  /** The HTTP status where it is not the code's own (`ALTERNATE_STATUS`), else `undefined`. */
  readonly status: number | undefined

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options)
    this.code = code
    this.name = this.constructor.name
    if (options?.status !== undefined && ALTERNATE_STATUS[code] !== options.status) {
      throw new TypeError(`${code} is never answered with ${options.status}`)
    }
    this.status = options?.status
  }
}

/** `mfa_required`: the password was right and a second factor must follow, with this ticket. */
export class MFARequiredError extends AuthError {
  readonly challenge: MFAChallenge

  constructor(challenge: MFAChallenge) {
    super('mfa_required', 'A second factor is required (POST /auth/mfa/verify)')
    this.challenge = challenge
  }
}

/**
 * `insufficient_user_authentication` (RFC 9470): the token proves too little (no second factor) or
 * too long ago (`maxAgeSeconds`, sent back as `max_age`).
 */
export class InsufficientUserAuthenticationError extends AuthError {
  readonly maxAgeSeconds: number | undefined

  constructor(message: string, options: { maxAgeSeconds?: number } = {}) {
    super('insufficient_user_authentication', message)
    this.maxAgeSeconds = options.maxAgeSeconds
  }
}

/** `validation_failed`, with the list of field problems. */
export class ValidationError extends AuthError {
  readonly errors: readonly FieldError[]

  constructor(errors: readonly FieldError[], message = 'Request validation failed') {
    super('validation_failed', message)
    this.errors = errors
  }
}

/** `rate_limited`, with the number of seconds after which a retry may pass. */
export class RateLimitError extends AuthError {
  readonly retryAfterSeconds: number

  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'Too many attempts; try again later')
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds))
  }
}

/** `refresh_token_reused`: a used refresh token came back; its session (named here) is now revoked. */
export class RefreshTokenReusedError extends AuthError {
  readonly sessionId: string
  readonly userId: string

  constructor(sessionId: string, userId: string) {
    super('refresh_token_reused', 'Refresh token was already used; the session has been revoked')
    this.sessionId = sessionId
    this.userId = userId
  }
}

/** A setting that is wrong. Stops the server at start with a line that names the setting. */
export class ConfigError extends Error {
  /** The option or environment variable at fault, e.g. `JWT_ALG`. */
  readonly setting: string

  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`)
    this.setting = setting
    this.name = this.constructor.name
  }
}

/** True when `error` is an {@link AuthError} with the given code. */
export function isAuthError(error: unknown, code?: ErrorCode): error is AuthError {
  return error instanceof AuthError && (code === undefined || error.code === code)
}

/**
 * A sign-in with an identity provider that ends in a redirect with `?error=<code>` rather than an
 * envelope: the browser is on a top-level navigation. Never holds a provider token or code.
 */
export class FederationError extends Error {
  /** The redirect error code. */
  readonly code: OIDCErrorCode

  constructor(code: OIDCErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = this.constructor.name
  }
}
