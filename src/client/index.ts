/**
 * `tokenpair/client`: the browser and Node client of a tokenpair server. It imports nothing from
 * the server and nothing from `node:`, so that it bundles for browsers as it is.
 */
export { type ClientEvents, type ClientOptions, createClient, type TokenpairClient } from './client.js'
export {
  API_ERROR_CODES,
  type APIErrorCode,
  CLIENT_ERROR_CODES,
  ClientError,
  type ClientErrorCode,
  type ClientFieldError,
  type ClientOnlyErrorCode,
  SessionEndedError,
} from './errors.js'
export type {
  BearerTokens,
  ClientSession,
  ClientUser,
  LoginInput,
  RefreshEvent,
  RegisterInput,
  SessionEndEvent,
  TokenResponse,
} from './types.js'
