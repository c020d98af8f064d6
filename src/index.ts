export { type Auth, createAuth } from './auth.js'
export { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from './common/algorithms.js'
export { type Duration, parseDuration } from './common/duration.js'
export type { AuthLogger } from './common/logger.js'
export {
  type AppClient,
  type AppSession,
  type AppUser,
  type AuthHooks,
  type ClaimsContext,
  type ClaimsFunction,
  HOOK_REFUSAL_CODES,
  type HookRefusalCode,
  type PasswordCheckContext,
  type PasswordValidator,
  type RegistrationChange,
  type RegistrationDraft,
} from './config/app-options.js'
export { MAX_METADATA_BYTES, type MetadataOptions } from './config/metadata-options.js'
export type { AuthOptions, ResolvedOptions } from './config/options.js'
export {
  AuthError,
  ConfigError,
  ERROR_CODES,
  type ErrorCode,
  type FieldError,
  isAuthError,
  RateLimitError,
  RefreshTokenReusedError,
  ValidationError,
} from './errors.js'
export type {
  SecurityEvent,
  SecurityEventListener,
  SecurityEventType,
} from './events/index.js'
export type { RequestAuth, RequireAuthOptions } from './express/require-auth.js'
export * from './mail/index.js'
export type {
  DatabaseHandle,
  MySQLPoolHandle,
  PostgresPoolHandle,
  SQLiteDatabaseHandle,
} from './storage/database-handle.js'
// The Storage interface and its records, for adapters of one's own (tokenpair/testing checks them).
export type * from './storage/storage.js'
export { isSessionLive } from './storage/storage.js'
export { DEFAULT_TABLE_PREFIX, MAX_TABLE_PREFIX_LENGTH } from './storage/table-prefix.js'
export type { AccessTokenClaims, RefreshTokenClaims } from './tokens/claims.js'
export {
  type ClaimsWith,
  type ClaimValue,
  type CustomClaims,
  MAX_CUSTOM_CLAIMS_BYTES,
  type NoClaims,
  RESERVED_CLAIMS,
  type ReservedClaim,
} from './tokens/custom-claims.js'
export type { JWKSet } from './tokens/keys.js'
export type { CreateUserInput, SessionsAPI, UsersAPI } from './users/user-admin.js'
export type { PublicUser } from './users/user-view.js'
