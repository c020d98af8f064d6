/*
 * The error codes of the HTTP contract (docs/api.md) and the status each is answered with. This
 * file holds no zod, so that the browser client can import it as a value without bundling zod.
 */

/** Each code with its HTTP status, in the contract's order: the one table of codes. */
const ERROR_TABLE = [
  ['validation_failed', 400],
  ['malformed_json', 400],
  ['missing_token', 401],
  ['token_expired', 401],
  ['invalid_token', 401],
  ['session_revoked', 401],
  ['missing_refresh_token', 401],
  ['invalid_refresh_token', 401],
  ['refresh_token_reused', 401],
  ['invalid_credentials', 401],
  ['invalid_dpop_proof', 401],
  ['use_dpop_nonce', 401],
  ['mfa_required', 401],
  ['invalid_mfa_token', 401],
  ['invalid_mfa_code', 401],
  ['insufficient_user_authentication', 401],
  ['csrf_rejected', 403],
  ['forbidden', 403],
  ['email_unverified', 403],
  ['reauthentication_required', 403],
  ['last_credential', 409],
  ['not_found', 404],
  ['invalid_email_token', 400],
  ['invalid_reset_token', 400],
  ['username_taken', 409],
  ['email_taken', 409],
  ['last_credential', 409],
  ['payload_too_large', 413],
  ['unsupported_media_type', 415],
  ['rate_limited', 429],
  ['internal_error', 500],
  ['unavailable', 503],
] as const

/** The first member of each pair, as a tuple of the same length and order. */
type CodesOf<T extends readonly (readonly [string, number])[]> = { readonly [K in keyof T]: T[K][0] }

/** The closed list of error codes. A test pins it so that none drifts. */
export const ERROR_CODES = ERROR_TABLE.map(([code]) => code) as unknown as CodesOf<typeof ERROR_TABLE>

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number]

/** HTTP status of each error code: the one mapping from error codes to HTTP. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze(
  Object.fromEntries(ERROR_TABLE) as Record<ErrorCode, number>,
)

/**
 * The other status a code may be answered with, where the contract names one: a wrong code when
 * confirming or disabling TOTP is the request's fault (`400`), at a login it is a failed
 * authentication (`401`, the code's own status).
 */
export const ALTERNATE_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  invalid_mfa_code: 400,
})

const CODES: ReadonlySet<string> = new Set(ERROR_CODES)

/** Whether `value` is one of {@link ERROR_CODES}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value)
}
