import type { ErrorCode } from '../errors.js'

/** HTTP status of each error code: the one mapping from domain errors to HTTP (API.md). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  validation_failed: 400,
  malformed_json: 400,
  invalid_email_token: 400,
  invalid_reset_token: 400,
  missing_token: 401,
  token_expired: 401,
  invalid_token: 401,
  session_revoked: 401,
  missing_refresh_token: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  invalid_credentials: 401,
  csrf_rejected: 403,
  forbidden: 403,
  email_unverified: 403,
  not_found: 404,
  username_taken: 409,
  email_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
})

/**
 * `WWW-Authenticate` of a 401 (RFC 6750): `error="invalid_token"` where a token was presented and
 * refused, a bare `Bearer` where none was (wrong login credentials included: every 401 carries one).
 */
export function wwwAuthenticate(code: ErrorCode): string | null {
  switch (code) {
    case 'missing_token':
    case 'missing_refresh_token':
    case 'invalid_credentials':
      return 'Bearer'
    case 'token_expired':
      return 'Bearer error="invalid_token", error_description="The access token expired"'
    case 'invalid_token':
    case 'session_revoked':
    case 'invalid_refresh_token':
    case 'refresh_token_reused':
      return 'Bearer error="invalid_token"'
    default:
      return null
  }
}
