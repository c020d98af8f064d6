/**
 * `tokenpair/client`: the browser and Node client of a tokenpair server. It imports nothing from
 * `node:` and nothing from the server but the protocol's codes (and, as types only, its shapes),
 * so that it bundles for browsers as it is.
 */
export { createClient } from './client.js'
export type {
  BearerTokens,
  ClientEvents,
  ClientOptions,
  RefreshEvent,
  SessionEndEvent,
  TokenpairClient,
} from './client-api.js'
export {
  API_ERROR_CODES,
  type APIErrorCode,
  CLIENT_ERROR_CODES,
  ClientError,
  type ClientErrorCode,
  type ClientFieldError,
  type ClientOnlyErrorCode,
  MFARequiredError,
  SessionEndedError,
} from './errors.js'
export type { ClientPasskey, MFAApi, PasskeysApi, Reauthentication } from './factors.js'
export type { ClientProvider, ProviderStartOptions, ProvidersApi } from './providers.js'
export type { ClientSession, ClientUser, LoginInput, RegisterInput, TokenResponse } from './types.js'
