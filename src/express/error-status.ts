import { type AuthError, InsufficientUserAuthenticationError } from '../errors.js'
import type { ErrorCode } from '../protocol/error-codes.js'

export { ERROR_STATUS } from '../protocol/error-codes.js'

/**
 * `WWW-Authenticate` of a 401 (RFC 6750): `error="invalid_token"` where a token was presented and
 * refused, a bare `Bearer` where none was (wrong login credentials included: every 401 carries one).
 */
export function wwwAuthenticate(code: ErrorCode): string | null {
  switch (code) {
    case 'missing_token':
    case 'missing_refresh_token':
    case 'invalid_credentials':
    case 'mfa_required':
    case 'invalid_mfa_token':
    case 'invalid_mfa_code':
      return 'Bearer'
    case 'token_expired':
      return 'Bearer error="invalid_token", error_description="The access token expired"'
    case 'invalid_token':
    case 'session_revoked':
    case 'invalid_refresh_token':
    case 'refresh_token_reused':
      return 'Bearer error="invalid_token"'
    // RFC 9449 §7.1: the DPoP scheme, with the algorithms a proof may use.
    case 'invalid_dpop_proof':
      return 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'
    case 'use_dpop_nonce':
      return 'DPoP error="use_dpop_nonce", algs="ES256 EdDSA"'
    default:
      return null
  }
}

/**
 * `WWW-Authenticate` of a 401 for `error`: {@link wwwAuthenticate}, and RFC 9470's challenge for
 * `insufficient_user_authentication`, with `max_age` when a more recent login is what it lacks.
 */
export function challengeFor(error: AuthError): string | null {
  if (error.code !== 'insufficient_user_authentication') return wwwAuthenticate(error.code)
  const maxAge =
    error instanceof InsufficientUserAuthenticationError && error.maxAgeSeconds !== undefined
      ? `, max_age=${error.maxAgeSeconds}`
      : ''
  return `Bearer error="insufficient_user_authentication", error_description="${error.message}"${maxAge}`
}
