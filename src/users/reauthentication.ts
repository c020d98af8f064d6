import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { verifyPassword } from './passwords.js'

/** Options of {@link assertReauthenticated}. */
export interface ReauthenticationOptions {
  /**
   * The session making the change. A correct password renews its `auth_time` (its next tokens show
   * the fresh login); for an account without a password, a session that authenticated less than
   * `reauthMaxAge` ago stands in for the password.
   */
  sessionId?: string
}

/** Whether the account has a password at all (one made through an identity provider may not). */
export function hasPassword(user: UserRecord): boolean {
  return user.passwordHash !== ''
}

/**
 * Proof that the person at the keyboard owns the account, before a sensitive change (an email
 * change, turning a factor on or off, recovery codes, passkeys; OWASP ASVS 7.5.1): the current
 * password, checked under the login limits of the user's name and the client's IP, so that a
 * stolen access token is no unlimited password oracle. Without it `403 reauthentication_required`;
 * a wrong one `401 invalid_credentials`, and it keeps its point against the limits.
 */
export async function assertReauthenticated(
  engine: Engine,
  user: UserRecord,
  client: ClientInfo,
  currentPassword: string | undefined,
  options: ReauthenticationOptions = {},
): Promise<void> {
  const { sessionId } = options
  if (currentPassword === undefined) {
    if (!hasPassword(user) && sessionId !== undefined) {
      const session = await engine.storage.findSession(sessionId)
      if (session && Date.now() - session.authTime < engine.options.reauthMaxAgeMs) return
    }
    throw new AuthError(
      'reauthentication_required',
      'This change needs your current password (currentPassword)',
    )
  }
  const attempt = await engine.limits.beginLoginAttempt(user.username, client.ip)
  // An account without a password has none to match: every guess is wrong.
  if (!hasPassword(user) || !(await verifyPassword(user.passwordHash, currentPassword))) {
    engine.events.emit({ type: 'login_failed', userId: user.id, ip: client.ip ?? undefined })
    throw new AuthError('invalid_credentials', 'Invalid login or password')
  }
  await attempt.succeed()
  if (sessionId !== undefined) await renewSessionAuthentication(engine, sessionId)
}

/**
 * Records that a session authenticated again now: its next access tokens (after a refresh) carry
 * the new `auth_time`, and keep the `amr` of the factors it proved.
 */
export async function renewSessionAuthentication(engine: Engine, sessionId: string): Promise<void> {
  const session = await engine.storage.findSession(sessionId)
  if (!session) return
  await engine.storage.factors.updateSessionAuthentication(sessionId, Date.now(), session.amr)
}
