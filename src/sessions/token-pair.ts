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
}
