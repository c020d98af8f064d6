import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { queueSecurityNotice } from './notices.js'
import { assertReauthenticated } from './reauthentication.js'
import { mergeUserMetadata } from './user-metadata.js'
import type { UpdateProfileInput } from './user-schemas.js'

/** Result of {@link updateProfile}. */
export interface ProfileUpdate {
  user: UserRecord
  /** The address changed: it is now unverified and needs a verification mail. */
  emailChanged: boolean
}

/**
 * Changes `fullname`, `email` and/or the user-writable fields of `metadata` (`PATCH /auth/me`).
 * Each request counts against the limits of sensitive changes, per user and per IP, so that the
 * `409 email_taken` answer cannot map the registered addresses quickly. A new address is a sensitive change: it needs the current
 * password (else `403 reauthentication_required`), clears `emailVerified`, and the old address
 * gets a notice; the storage's unique index answers `email_taken`. Unchanged values write nothing.
 */
export async function updateProfile(
  engine: Engine,
  actor: { userId: string; sessionId?: string; client: ClientInfo },
  input: UpdateProfileInput,
): Promise<ProfileUpdate> {
  const { userId, client } = actor
  await engine.limits.consumeSensitiveChange(userId, client.ip)
  const user = await engine.storage.findUserById(userId)
  if (!user || user.disabledAt !== null) throw new AuthError('invalid_token', 'User no longer exists')
  const fullnameChanged = input.fullname !== undefined && input.fullname !== user.fullname
  const emailChanged = input.email !== undefined && input.email !== user.email
  const metadata =
    input.metadata === undefined
      ? undefined
      : mergeUserMetadata(engine.options.metadata, user.metadata, input.metadata)
  if (emailChanged) {
    await assertReauthenticated(engine, user, client, input.currentPassword, { sessionId: actor.sessionId })
  }
  if (!fullnameChanged && !emailChanged && metadata === undefined) return { user, emailChanged: false }
  const updated = await engine.storage.updateUser(
    userId,
    {
      ...(fullnameChanged ? { fullname: input.fullname } : {}),
      ...(emailChanged ? { email: input.email, emailVerified: false } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    },
    Date.now(),
  )
  if (!updated) throw new AuthError('invalid_token', 'User no longer exists')
  // To the address as it was: whoever took the account over does not read that one.
  if (emailChanged) queueSecurityNotice(engine, user, 'email_changed', { newEmail: updated.email })
  return { user: updated, emailChanged }
}
