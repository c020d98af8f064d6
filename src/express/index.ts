export { createSecurityHeaders } from '../security/security-headers.js'
export { ACCESS_COOKIE, REFRESH_COOKIE } from './cookies.js'
export { createCORS } from './cors.js'
export { type ErrorEnvelope, type SuccessEnvelope, sendError, sendSuccess } from './envelope.js'
export { ERROR_STATUS } from './error-status.js'
export {
  DEFAULT_RATE_LIMITS,
  type LimitOption,
  type RateLimitOptions,
  type RateLimitSettings,
} from './rate-limit.js'
export {
  type AccessTokenVerifier,
  createRequireAuth,
  type RequestAuth,
  type RequireAuthDeps,
  type RequireAuthOptions,
} from './require-auth.js'
export type { AuthMode, TokenResponseData } from './token-response.js'
