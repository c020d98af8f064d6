import { ConfigError } from '../errors.js'
import type { CustomClaims } from '../protocol/reserved-claims.js'
import type { SessionRecord, UserMetadata, UserRecord } from '../storage/storage.js'

/* The options by which the app that mounts tokenpair bends it to itself: claims of its own in
 * the access token. They are resolved with the other options (options.ts). */

/**
 * A user as the app's functions see it: everything stored but the password hash. `M` is the type
 * of the metadata (the `metadata.schema` option).
 */
export type AppUser<M extends UserMetadata = UserMetadata> = Readonly<
  Omit<UserRecord, 'passwordHash' | 'metadata'>
> & { readonly metadata: M }

/** A session as the app's functions see it. */
export type AppSession = Readonly<Pick<SessionRecord, 'id' | 'createdAt' | 'expiresAt' | 'userAgent' | 'ip'>>

/** What the `claims` function is called with. */
export interface ClaimsContext {
  /** The user the token is for, read fresh from storage at login and at each refresh. */
  user: AppUser
  /** The session the token belongs to. */
  session: AppSession
  /** Why a token is signed: a registration, a login or a refresh. */
  reason: 'register' | 'login' | 'refresh'
}

/**
 * Adds the app's claims to every access token (at login and at each refresh). Names in
 * `RESERVED_CLAIMS` are refused (by TypeScript, and at the first token with a `ConfigError`);
 * at most `MAX_CUSTOM_CLAIMS_BYTES` of JSON.
 */
export type ClaimsFunction<C extends CustomClaims = CustomClaims> = (context: ClaimsContext) => C | Promise<C>

/** A user record without its password hash, for the app's functions. */
export function toAppUser(user: UserRecord): AppUser {
  const { passwordHash: _hidden, ...rest } = user
  return Object.freeze({ ...rest, roles: [...rest.roles], metadata: structuredClone(rest.metadata) })
}

/** A session record's public part, for the app's functions. */
export function toAppSession(session: SessionRecord): AppSession {
  const { id, createdAt, expiresAt, userAgent, ip } = session
  return Object.freeze({ id, createdAt, expiresAt, userAgent, ip })
}

/** Where a request came from, as the app's hooks see it. */
export interface AppClient {
  readonly ip: string | null
  readonly userAgent: string | null
}

/** What a registration would store, as `beforeRegister` sees it (already validated). */
export interface RegistrationDraft {
  readonly username: string
  readonly email: string
  readonly fullname: string
}

/** What `beforeRegister` may change: today the `fullname` (checked with the same rule). */
export interface RegistrationChange {
  fullname?: string
}

/**
 * The codes a `before*` hook may refuse with, by throwing `new AuthError(code, message)` (or a
 * `ValidationError` with field problems): each answers with its usual status. Any other error
 * from a hook is the app's bug, logged and answered `500 internal_error`.
 */
export const HOOK_REFUSAL_CODES = [
  'validation_failed',
  'forbidden',
  'username_taken',
  'email_taken',
  'rate_limited',
] as const

/** One of {@link HOOK_REFUSAL_CODES}. */
export type HookRefusalCode = (typeof HOOK_REFUSAL_CODES)[number]

/** What `beforeRegister` returns: a change, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing (`async () => {}`) is the common case.
export type RegistrationResult = RegistrationChange | undefined | void

/** A hook's result, at once or later. */
type MaybePromise<T> = T | Promise<T>

/**
 * The app's hooks into registration and login, in the order they run (docs/embedding.md):
 *
 * - registration: body checked → password rules → `beforeRegister` → `beforeSessionCreate` →
 *   the tokens signed (the `claims` worked out) → the user and the session written →
 *   `afterRegister` → the answer;
 * - login: password checked → `beforeSessionCreate` → the session written → `afterLogin` → the
 *   answer;
 * - a first sign-in with an identity provider: the provider's person read → `beforeRegister`
 *   (`source: 'provider'`) → `beforeSessionCreate` → the user, its identity and the session
 *   written → `afterRegister` → the redirect; a later one is a login.
 *
 * `before*` hooks may refuse by throwing an `AuthError` with a code of {@link HOOK_REFUSAL_CODES};
 * nothing is written then. `after*` hooks are awaited before the answer; what they throw is
 * logged and never turns the success into an error.
 */
export interface AuthHooks {
  /**
   * Before a user is written: may refuse, or change the `fullname`. `source` says how the user
   * comes: `password` (`POST /register`) or `provider` (a first sign-in with the identity provider
   * `provider` names; a refusal then ends the sign-in with `?error=<code>`).
   */
  beforeRegister?(context: {
    input: RegistrationDraft
    client: AppClient
    source: 'password' | 'provider'
    provider: string | null
  }): MaybePromise<RegistrationResult>
  /** After a registration, its user and first session written. */
  afterRegister?(context: { user: AppUser; session: AppSession; client: AppClient }): MaybePromise<void>
  /** After a login, its session written. */
  afterLogin?(context: { user: AppUser; session: AppSession; client: AppClient }): MaybePromise<void>
  /**
   * Before a session is opened, at registration (before the user is written) and at login: may
   * refuse (a blocked country, an account on hold).
   */
  beforeSessionCreate?(context: {
    user: AppUser
    client: AppClient
    reason: 'register' | 'login'
  }): MaybePromise<void>
}

const HOOK_NAMES = ['beforeRegister', 'afterRegister', 'afterLogin', 'beforeSessionCreate'] as const

/** Checks the `hooks` option: known names only, each a function. Throws a `ConfigError` naming it. */
export function resolveHooks(hooks: AuthHooks | undefined): Readonly<AuthHooks> {
  if (hooks === undefined) return Object.freeze({})
  if (hooks === null || typeof hooks !== 'object') throw new ConfigError('hooks', 'must be an object')
  for (const [name, hook] of Object.entries(hooks)) {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(`hooks.${name}`, `unknown hook; the hooks are ${HOOK_NAMES.join(', ')}`)
    }
    if (hook !== undefined && typeof hook !== 'function')
      throw new ConfigError(`hooks.${name}`, 'must be a function')
  }
  return Object.freeze({ ...hooks })
}

/** What `validatePassword` is told about the password being set. */
export interface PasswordCheckContext {
  /** The account's username (trimmed, lower-cased). */
  readonly username: string
  /** The account's email address (trimmed, lower-cased). */
  readonly email: string
  /**
   * Where the password is being set: a registration, a change by its owner, a reset by mail link,
   * or `auth.users.create` (the app, or the `tokenpair users create` CLI).
   */
  readonly reason: 'register' | 'change' | 'reset' | 'create'
}

/**
 * The app's own rule for new passwords, run after tokenpair's (length, not common, not the
 * username or address). Return nothing to accept; return the reason to refuse, worded to follow
 * the field's name (`'must not contain the name of the shop'`): the client gets `400
 * validation_failed` with the field message `password must not contain the name of the shop`.
 * It may also throw, like a `before*` hook (an `AuthError` of {@link HOOK_REFUSAL_CODES}
 * passes through; anything else is a bug, answered `500`).
 *
 * @example
 * ```ts
 * validatePassword: (password) => (/shop/i.test(password) ? 'must not contain the name of the shop' : undefined)
 * ```
 */
export type PasswordValidator = (
  password: string,
  context: PasswordCheckContext,
) => MaybePromise<string | null | undefined>
