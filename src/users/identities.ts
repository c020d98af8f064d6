import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { IdentityRecord, UserRecord } from '../storage/storage.js'
import { hasPassword } from './federation.js'
import { assertReauthenticated } from './reauthentication.js'

/**
 * How recent the session's login must be to stand in for a password, for an account that has
 * none (5 minutes, the `REAUTH_MAX_AGE` default): the session's `auth_time`.
 */
const RECENT_LOGIN_MS = 5 * 60_000

/** The identities linked to the user, oldest first. */
export function listIdentities(engine: Engine, userId: string): Promise<IdentityRecord[]> {
  return engine.storage.listIdentities(userId)
}

/**
 * Proof of ownership before a change of the ways in: the current password where the account has
 * one, else a login in this session less than {@link RECENT_LOGIN_MS} ago.
 */
async function assertOwnerPresent(
  engine: Engine,
  user: UserRecord,
  actor: { sessionId: string; client: ClientInfo },
  currentPassword: string | undefined,
): Promise<void> {
  if (hasPassword(user)) {
    await assertReauthenticated(engine, user, actor.client, currentPassword)
    return
  }
  const session = await engine.storage.findSession(actor.sessionId)
  if (!session || Date.now() - session.authTime > RECENT_LOGIN_MS) {
    throw new AuthError(
      'reauthentication_required',
      'This change needs a recent login: sign in with your identity provider again',
    )
  }
}

/**
 * Unlinks one identity of the user (`DELETE /identities/:id`), after re-authentication and under
 * the limits of sensitive changes. `404 not_found` for another user's; `409 last_credential` when
 * it is the account's only way in (no password, no other identity, no passkey). Two unlinks at once may each
 * see the other's identity still there: each checks again after its delete and puts its identity
 * back when none is left, so the account always keeps one way in.
 */
export async function unlinkIdentity(
  engine: Engine,
  actor: { userId: string; sessionId: string; client: ClientInfo },
  identityId: string,
  currentPassword: string | undefined,
): Promise<IdentityRecord> {
  const { userId, client } = actor
  await engine.limits.consumeSensitiveChange(userId, client.ip)
  const user = await engine.storage.findUserById(userId)
  if (!user || user.disabledAt !== null) throw new AuthError('invalid_token', 'User no longer exists')
  const identities = await engine.storage.listIdentities(userId)
  const identity = identities.find((i) => i.id === identityId)
  if (!identity) throw new AuthError('not_found', 'No such identity')
  const lastCredential = () =>
    new AuthError(
      'last_credential',
      'This is the only way into the account; add a password or another provider first',
    )
  // The other ways in: a password, another identity, a passkey (a whole login by itself).
  const othersThan = (count: number) => (hasPassword(user) ? 1 : 0) + user.mfa.passkeys + count
  if (othersThan(identities.length - 1) === 0) throw lastCredential()
  await assertOwnerPresent(engine, user, actor, currentPassword)
  if (!(await engine.storage.deleteIdentity(identityId, userId)))
    throw new AuthError('not_found', 'No such identity')
  if (othersThan((await engine.storage.listIdentities(userId)).length) === 0) {
    await engine.storage.createIdentity(identity)
    throw lastCredential()
  }
  return identity
}
