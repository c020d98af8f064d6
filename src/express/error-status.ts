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
    default:
      return null
  }
}
