import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { assertReauthenticated } from './reauthentication.js'

/** Who makes a factor change: the user, their session and where the request came from. */
export interface FactorActor {
  userId: string
  sessionId: string
  client: ClientInfo
}

/** The actor's user, if it still exists and is not disabled; else `401 invalid_token`. */
export async function findActiveUser(engine: Engine, userId: string): Promise<UserRecord> {
  const user = await engine.storage.findUserById(userId)
  if (!user || user.disabledAt !== null) throw new AuthError('invalid_token', 'User no longer exists')
  return user
}

/**
 * The start of a sensitive factor change (OWASP ASVS 7.5.1): counted against the limits of
 * sensitive changes per user and per IP, the user read fresh, and the re-authentication checked
 * (`currentPassword`, or a recent login for an account without a password). Returns the user.
 */
export async function beginFactorChange(
  engine: Engine,
  actor: FactorActor,
  currentPassword: string | undefined,
): Promise<UserRecord> {
  await engine.limits.consumeSensitiveChange(actor.userId, actor.client.ip)
  const user = await findActiveUser(engine, actor.userId)
  await assertReauthenticated(engine, user, actor.client, currentPassword, { sessionId: actor.sessionId })
  return user
}

/**
 * Ends every other session of the actor's user, after a factor was turned off, removed or
 * replaced (OWASP ASVS 7.4.3), as a password change does: whoever got in with the old factor, or
 * holds a session opened before the change, is out; the session that made the change stays.
 * Returns how many sessions ended.
 */
export async function revokeOtherSessions(engine: Engine, actor: FactorActor): Promise<number> {
  const count = await engine.storage.revokeUserSessions(actor.userId, 'factor_changed', Date.now(), {
    exceptSessionId: actor.sessionId,
  })
  if (count > 0) {
    engine.events.emit({ type: 'session_revoked', userId: actor.userId, reason: 'factor_changed', count })
  }
  return count
}
