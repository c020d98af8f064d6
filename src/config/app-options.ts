import type { CustomClaims } from '../protocol/reserved-claims.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'

/* The options by which the app that mounts tokenpair bends it to itself: claims of its own in
 * the access token. They are resolved with the other options (options.ts). */

/** A user as the app's functions see it: everything stored but the password hash. */
export type AppUser = Readonly<Omit<UserRecord, 'passwordHash'>>

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
  return Object.freeze({ ...rest, roles: [...rest.roles] })
}

/** A session record's public part, for the app's functions. */
export function toAppSession(session: SessionRecord): AppSession {
  const { id, createdAt, expiresAt, userAgent, ip } = session
  return Object.freeze({ id, createdAt, expiresAt, userAgent, ip })
}
