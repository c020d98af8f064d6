import { randomUUID } from 'node:crypto'
import { toAppUser } from '../config/app-options.js'
import { runBeforeHook } from '../engine/app-hooks.js'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { hasPassword } from './federation.js'
import { needsSecondFactor } from './mfa-login.js'
import { queueSecurityNotice } from './notices.js'
import { assertPasswordAllowed } from './password-policy.js'
import { hashPassword, verifyAgainstDummy, verifyPassword } from './passwords.js'
import { assertReauthenticated } from './reauthentication.js'
import { readHookFullname } from './registration-hooks.js'
import { initialMetadata } from './user-metadata.js'
import type { ChangePasswordInput, LoginInput, RegisterInput } from './user-schemas.js'

function invalidCredentials(): AuthError {
  return new AuthError('invalid_credentials', 'Invalid login or password')
}

/**
 * Registers a user. Counted per client IP before the costly password hash (docs/security.md).
 * The password rules (password-policy.ts) and the app's `beforeRegister` and `beforeSessionCreate` hooks run before anything is written (and
 * before the hash, so that a refusal costs little); the database's unique indexes decide
 * `username_taken` and `email_taken`. `beforeWrite` runs last, with the user about to be
 * written, and what it returns is the answer: what it throws leaves nothing written (the router
 * prepares the first session there).
 */
export async function registerUser<T>(
  engine: Engine,
  input: RegisterInput,
  client: ClientInfo,
  beforeWrite: (user: UserRecord) => Promise<T>,
): Promise<T> {
  await engine.limits.consumeRegistration(client.ip)
  await assertPasswordAllowed(engine, {
    password: input.password,
    field: 'password',
    context: { username: input.username, email: input.email, reason: 'register' },
  })
  const { beforeRegister, beforeSessionCreate } = engine.options.hooks
  let fullname = input.fullname
  if (beforeRegister) {
    const draft = Object.freeze({ username: input.username, email: input.email, fullname })
    const change = await runBeforeHook('hooks.beforeRegister', () =>
      beforeRegister({ input: draft, client, source: 'password', provider: null }),
    )
    if (change?.fullname !== undefined) fullname = readHookFullname(change.fullname)
  }
  const now = Date.now()
  const profile: Omit<UserRecord, 'passwordHash'> = {
    id: randomUUID(),
    username: input.username,
    email: input.email,
    fullname,
    roles: ['user'],
    emailVerified: false,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    mfa: { totp: false, passkeys: 0 },
    metadata: initialMetadata(engine.options.metadata),
  }
  if (beforeSessionCreate) {
    const user = toAppUser({ ...profile, passwordHash: '' })
    await runBeforeHook('hooks.beforeSessionCreate', () =>
      beforeSessionCreate({ user, client, reason: 'register' }),
    )
  }
  const user: UserRecord = { ...profile, passwordHash: await hashPassword(input.password) }
  const prepared = await beforeWrite(user)
  await engine.storage.createUser(user)
  return prepared
}

/**
 * Checks a login name and password, under the login limits: the attempt is counted before the
 * password is checked, so that while a limit is spent even the right password is refused; only a
 * wrong guess keeps its point (a database failure gives it back). Emits `login_failed`. For a user
 * with a second factor the limits forget nothing yet: only the completed login does, so that
 * a known password is no way to reset the count of wrong codes.
 */
export async function authenticateUser(
  engine: Engine,
  input: LoginInput,
  client: ClientInfo,
): Promise<UserRecord> {
  const attempt = await engine.limits.beginLoginAttempt(input.login, client.ip)
  let user: UserRecord
  try {
    user = await checkCredentials(engine, input)
  } catch (error) {
    if (error instanceof AuthError && error.code === 'invalid_credentials') {
      engine.events.emit({ type: 'login_failed', ip: client.ip ?? undefined })
    } else {
      await attempt.cancel()
    }
    throw error
  }
  if (needsSecondFactor(user)) await attempt.cancel()
  else await attempt.succeed()
  return user
}

/**
 * An unknown name is verified against a dummy hash, so that it costs the same time as a wrong
 * password, and both answer the same `invalid_credentials`.
 */
async function checkCredentials(engine: Engine, input: LoginInput): Promise<UserRecord> {
  const user = await engine.storage.findUserByLogin(input.login)
  // An account without a password (made by an identity provider) takes as long as an unknown name.
  if (!user || !hasPassword(user)) {
    await verifyAgainstDummy(input.password)
    throw invalidCredentials()
  }
  const ok = await verifyPassword(user.passwordHash, input.password)
  if (!ok || user.disabledAt !== null) throw invalidCredentials()
  return user
}

/**
 * Changes a password after checking the new one against the password rules and the current one
 * (under the login limits: see
 * `assertReauthenticated`), revokes every other session, deletes the reset links still
 * outstanding (mailed before the change, they must not undo it), and tells the owner by mail.
 */
export async function changePassword(
  engine: Engine,
  actor: { userId: string; sessionId: string; client: ClientInfo },
  input: ChangePasswordInput,
): Promise<void> {
  const { userId, sessionId } = actor
  const user = await engine.storage.findUserById(userId)
  if (!user) throw new AuthError('invalid_token', 'User no longer exists')
  // The rules first: a refused new password costs no hash and no point of the login limits.
  await assertPasswordAllowed(engine, {
    password: input.newPassword,
    field: 'newPassword',
    context: { username: user.username, email: user.email, reason: 'change' },
  })
  await assertReauthenticated(engine, user, actor.client, input.currentPassword, { sessionId })
  const now = Date.now()
  await engine.storage.updatePasswordHash(userId, await hashPassword(input.newPassword), now)
  await engine.storage.revokeUserSessions(userId, 'password_changed', now, { exceptSessionId: sessionId })
  await engine.storage.deleteUnusedEmailTokens(userId, 'reset_password')
  queueSecurityNotice(engine, user, 'password_changed')
}
