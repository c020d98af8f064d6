export {
  DEFAULT_RATE_LIMITS,
  type LimitOption,
  type RateLimitOptions,
  type RateLimitSettings,
} from '../limits/rate-limit-settings.js'
export { ACCESS_COOKIE, REFRESH_COOKIE } from '../protocol/cookies.js'
export { createCORS } from './cors.js'
export { type ErrorEnvelope, type SuccessEnvelope, sendError, sendSuccess } from './envelope.js'
export { ERROR_STATUS } from './error-status.js'
export {
  type AccessTokenVerifier,
  createRequireAuth,
  type RequestAuth,
  type RequireAuthDeps,
  type RequireAuthOptions,
} from './require-auth.js'
export { createSecurityHeaders } from './security-headers.js'
export type { AuthMode, TokenResponseData } from './token-response.js'
