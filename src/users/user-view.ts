import type { UserRecord } from '../storage/storage.js'

/** A user as API.md shows it: no password hash, times as ISO 8601 UTC. */
export interface PublicUser {
  id: string
  username: string
  email: string
  fullname: string
  roles: string[]
  emailVerified: boolean
  createdAt: string
  updatedAt: string
}

/** The public view of a stored user. */
export function toPublicUser(user: UserRecord): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    fullname: user.fullname,
    roles: [...user.roles],
    emailVerified: user.emailVerified,
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  }
}
