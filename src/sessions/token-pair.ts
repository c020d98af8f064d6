import type { AuthError } from '../errors.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import type { IssuedAccessToken } from '../tokens/access-token.js'
import type { IssuedRefreshToken } from '../tokens/refresh-token.js'

/** What a login, a registration or a refresh hands out. */
export interface TokenPair {
  user: UserRecord
  session: SessionRecord
  access: IssuedAccessToken
  refresh: IssuedRefreshToken
}

/** Where a request came from, stored with its session. */
export interface ClientInfo {
  userAgent: string | null
  ip: string | null
  /**
   * The RFC 7638 thumbprint of the key of a valid DPoP proof the request carried, or absent: a
   * login binds its session to it, a refresh of a bound session must match it.
   */
  jkt?: string | null
  /** A DPoP proof the request carried that failed its checks (the refresh is refused with it). */
  proofError?: AuthError
}
