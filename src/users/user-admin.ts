import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { type AppUser, toAppUser } from '../config/app-options.js'
import type { ResolvedOptions } from '../config/options.js'
import { AuthError } from '../errors.js'
import type { EventBus } from '../events/events.js'
import { validate } from '../internal/validate.js'
import type { SessionRecord, Storage, UserMetadata, UserRecord } from '../storage/storage.js'
import { assertPasswordAllowed } from './password-policy.js'
import { hashPassword } from './passwords.js'
import { initialMetadata, readMetadataWrite } from './user-metadata.js'
import { emailSchema, fullnameSchema, passwordSchema, usernameSchema } from './user-schemas.js'

/* The operations of an administrator on users and sessions, for the app (`auth.users`,
 * `auth.sessions`) and the CLI (`tokenpair users`) alike: one implementation, one set of events. */

/** What the operations need: the storage, the event bus and the password rules. */
export interface AdminContext {
  readonly storage: Storage
  readonly events: Pick<EventBus, 'emit'>
  readonly options: Pick<ResolvedOptions, 'validatePassword' | 'metadata'>
}

/** A role name: a-z first, then a-z, 0-9, `_` and `-`, at most 32 characters. */
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/

const rolesSchema = z
  .array(z.string().regex(ROLE_PATTERN, 'must be a-z first, then a-z, 0-9, _ or -, at most 32 characters'))
  .min(1, 'must hold at least one role')
  .max(32, 'must hold at most 32 roles')
  .transform((roles) => [...new Set(roles)])

const createUserSchema = z.strictObject({
  username: usernameSchema,
  email: emailSchema,
  fullname: fullnameSchema.optional(),
  password: passwordSchema,
  roles: rolesSchema.optional(),
  emailVerified: z.boolean().optional(),
  metadata: z.unknown().optional(),
})

/** What {@link UsersAPI.create} takes. */
export interface CreateUserInput<M extends UserMetadata = UserMetadata> {
  /** 3 to 30 of a-z, 0-9, `_`, `.`, `-` (trimmed and lower-cased, as at registration). */
  username: string
  email: string
  /** Default: the username. */
  fullname?: string
  /** Under the password rules of registration (docs/security.md#passwords). */
  password: string
  /** Default `['user']`. */
  roles?: readonly string[]
  /** Whether the address counts as verified already. Default `false`. */
  emailVerified?: boolean
  /** The app's metadata, under its schema and the 4 KiB bound. Default: the schema's output for `{}`. */
  metadata?: M
}

/** The most users one {@link UsersAPI.list} call returns. */
export const MAX_USER_PAGE = 1000

/**
 * Users, for an admin page of the app (`auth.users`) and the `tokenpair users` CLI. A `ref` is a
 * user's id, username or email. Operations on a user who does not exist throw `AuthError`
 * `not_found`; none of them checks who is asking: that is the app's to do.
 */
export interface UsersAPI<M extends UserMetadata = UserMetadata> {
  /** The user whose id, username or email (any case) is `ref`, or `null`. */
  find(ref: string): Promise<AppUser<M> | null>
  /** Users, oldest first: `limit` (default 100, at most 1000) from `offset` (default 0). */
  list(options?: { limit?: number; offset?: number }): Promise<AppUser<M>[]>
  /**
   * Creates a user under the rules of registration (field rules, password rules); throws
   * `validation_failed`, `username_taken` or `email_taken`. Emits `user_registered`. No session
   * opens and no mail is sent.
   */
  create(input: CreateUserInput<M>): Promise<AppUser<M>>
  /**
   * Refuses the user's logins and refreshes from now on, and revokes every session (`session_revoked`,
   * reason `user_disabled`). Returns how many sessions ended.
   */
  disable(id: string): Promise<{ revokedSessions: number }>
  /** Lifts a disable. */
  enable(id: string): Promise<void>
  /** Replaces the user's roles whole (deduplicated); access tokens carry them from the next refresh. */
  setRoles(id: string, roles: readonly string[]): Promise<AppUser<M>>
  /** Signs the user out of every device (`session_revoked`, reason `admin`); returns how many sessions ended. */
  revokeSessions(id: string): Promise<number>
  /**
   * For a user locked out of their second factor: removes TOTP and the recovery codes (passkeys
   * stay: they sign in on their own, and the user removes a lost one after signing in), revokes
   * every session, and emits `mfa_reset`. `totp` says whether TOTP was on.
   */
  resetMfa(id: string): Promise<{ totp: boolean; revokedSessions: number }>
  /**
   * Replaces the user's metadata whole, under the app's schema and the 4 KiB bound (else
   * `validation_failed`, with the schema's problems under `metadata.`). Any field, writable by the
   * user or not: this is the app speaking. Returns the user as stored.
   */
  update(id: string, change: { metadata: M }): Promise<AppUser<M>>
}

/** Sessions, for an admin page of the app (`auth.sessions`). */
export interface SessionsAPI {
  /** The live sessions of a user, newest first. */
  list(userId: string): Promise<SessionRecord[]>
  /** Revokes one session (`session_revoked`, reason `admin`); `false` when it was not live. */
  revoke(sessionId: string): Promise<boolean>
}

function noSuchUser(): AuthError {
  return new AuthError('not_found', 'No such user')
}

async function findRecord(context: AdminContext, ref: string): Promise<UserRecord | null> {
  if (typeof ref !== 'string' || ref === '' || ref.length > 254) return null
  return (
    (await context.storage.findUserById(ref)) ??
    (await context.storage.findUserByLogin(ref.trim().toLowerCase()))
  )
}

async function requireRecord(context: AdminContext, id: string): Promise<UserRecord> {
  const user = typeof id === 'string' && id !== '' ? await context.storage.findUserById(id) : null
  if (!user) throw noSuchUser()
  return user
}

function readPage(options: { limit?: number; offset?: number }): { limit: number; offset: number } {
  return validate(
    z.object({
      limit: z.int().min(0).max(MAX_USER_PAGE).default(100),
      offset: z.int().min(0).default(0),
    }),
    options,
  )
}

async function revokeAll(
  context: AdminContext,
  userId: string,
  reason: 'admin' | 'user_disabled',
  now: number,
): Promise<number> {
  const count = await context.storage.revokeUserSessions(userId, reason, now)
  context.events.emit({ type: 'session_revoked', userId, reason, count })
  return count
}

/** The users API on `context`: what `auth.users` is, and what the CLI calls. */
export function createUsersAPI<M extends UserMetadata = UserMetadata>(context: AdminContext): UsersAPI<M> {
  const { storage } = context
  // The stored metadata passed the schema that typed M when it was written.
  const view = (user: UserRecord) => toAppUser(user) as AppUser<M>
  return Object.freeze({
    async find(ref) {
      const user = await findRecord(context, ref)
      return user ? view(user) : null
    },
    async list(options = {}) {
      return (await storage.listUsers(readPage(options))).map(view)
    },
    async create(input) {
      const parsed = validate(createUserSchema, input)
      const metadata =
        parsed.metadata === undefined
          ? initialMetadata(context.options.metadata)
          : readMetadataWrite(context.options.metadata, parsed.metadata)
      await assertPasswordAllowed(context, {
        password: parsed.password,
        field: 'password',
        context: { username: parsed.username, email: parsed.email, reason: 'create' },
      })
      const now = Date.now()
      const user: UserRecord = {
        id: randomUUID(),
        username: parsed.username,
        email: parsed.email,
        fullname: parsed.fullname ?? parsed.username,
        passwordHash: await hashPassword(parsed.password),
        roles: parsed.roles ?? ['user'],
        emailVerified: parsed.emailVerified ?? false,
        disabledAt: null,
        createdAt: now,
        updatedAt: now,
        mfa: { totp: false, passkeys: 0 },
        metadata,
      }
      await storage.createUser(user)
      context.events.emit({ type: 'user_registered', userId: user.id })
      return view(user)
    },
    async disable(id) {
      const user = await requireRecord(context, id)
      const now = Date.now()
      await storage.setUserDisabled(user.id, now, now)
      // Disabling stops refreshes and logins; revoking also ends the sessions themselves.
      return { revokedSessions: await revokeAll(context, user.id, 'user_disabled', now) }
    },
    async enable(id) {
      const user = await requireRecord(context, id)
      await storage.setUserDisabled(user.id, null, Date.now())
    },
    async setRoles(id, roles) {
      const user = await requireRecord(context, id)
      const parsed = validate(z.object({ roles: rolesSchema }), { roles })
      const updated = await storage.updateUser(user.id, { roles: parsed.roles }, Date.now())
      if (!updated) throw noSuchUser()
      return view(updated)
    },
    async revokeSessions(id) {
      const user = await requireRecord(context, id)
      return revokeAll(context, user.id, 'admin', Date.now())
    },
    async resetMfa(id) {
      const user = await requireRecord(context, id)
      const now = Date.now()
      const totp = await storage.factors.disableTOTPFactor(user.id, now)
      // Whoever holds a session may have set the factor up; the user signs in afresh.
      const revokedSessions = await revokeAll(context, user.id, 'admin', now)
      context.events.emit({ type: 'mfa_reset', userId: user.id })
      return { totp, revokedSessions }
    },
    async update(id, change) {
      const user = await requireRecord(context, id)
      const metadata = readMetadataWrite(context.options.metadata, change?.metadata)
      const updated = await storage.updateUser(user.id, { metadata }, Date.now())
      if (!updated) throw noSuchUser()
      return view(updated)
    },
  } satisfies UsersAPI<M>)
}

/** The sessions API on `context`: what `auth.sessions` is. */
export function createSessionsAPI(context: AdminContext): SessionsAPI {
  const { storage } = context
  return Object.freeze({
    list: (userId) => storage.listActiveSessions(userId, Date.now()),
    async revoke(sessionId) {
      const session = typeof sessionId === 'string' ? await storage.findSession(sessionId) : null
      if (!session) return false
      const revoked = await storage.revokeSession(session.id, session.userId, 'admin', Date.now())
      if (revoked) {
        context.events.emit({
          type: 'session_revoked',
          userId: session.userId,
          sessionId: session.id,
          reason: 'admin',
        })
      }
      return revoked
    },
  } satisfies SessionsAPI)
}
