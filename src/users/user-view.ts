import type { PublicUser } from '../protocol/wire-schemas.js'
import type { UserRecord } from '../storage/storage.js'

export type { PublicUser } from '../protocol/wire-schemas.js'

/** The public view of a stored user. */
export function toPublicUser(user: Omit<UserRecord, 'passwordHash'>): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    fullname: user.fullname,
    roles: [...user.roles],
    emailVerified: user.emailVerified,
    mfa: { totp: user.mfa.totp, passkeys: user.mfa.passkeys },
    metadata: structuredClone(user.metadata),
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  }
}
