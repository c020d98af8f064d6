import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { verifyPassword } from './passwords.js'

/**
 * Proof that the person at the keyboard owns the account, before a sensitive change (an email
 * change, and the factor changes to come; OWASP ASVS 7.5.1): the current password, checked under
 * the login limits of the user's name and the client's IP, so that a stolen access token is no
 * unlimited password oracle. Without it `403 reauthentication_required`; a wrong one `401
 * invalid_credentials`, and it keeps its point against the limits.
 */
export async function assertReauthenticated(
  engine: Engine,
  user: UserRecord,
  client: ClientInfo,
  currentPassword: string | undefined,
): Promise<void> {
  if (currentPassword === undefined) {
    throw new AuthError(
      'reauthentication_required',
      'This change needs your current password (currentPassword)',
    )
  }
  const attempt = await engine.limits.beginLoginAttempt(user.username, client.ip)
  if (!(await verifyPassword(user.passwordHash, currentPassword))) {
    engine.events.emit({ type: 'login_failed', userId: user.id, ip: client.ip ?? undefined })
    throw new AuthError('invalid_credentials', 'Invalid login or password')
  }
  await attempt.succeed()
}
