import { randomUUID } from 'node:crypto'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import { createAccessToken } from '../tokens/access-token.js'
import { createRefreshToken } from '../tokens/refresh-token.js'
import type { ClientInfo, TokenPair } from './token-pair.js'

const MAX_USER_AGENT = 512
const MAX_IP = 64

/** Opens a new session (one login on one device) for `user` and issues its first pair. */
export async function openSession(engine: Engine, user: UserRecord, client: ClientInfo): Promise<TokenPair> {
  const { options, storage, keys } = engine
  const now = Date.now()
  const sessionId = randomUUID()
  const expiresAt = now + options.sessionMaxAgeMs
  const refresh = await createRefreshToken(
    keys,
    user.id,
    sessionId,
    Math.min(now + options.refreshTokenTtlMs, expiresAt),
    now,
  )
  const session: SessionRecord = {
    id: sessionId,
    userId: user.id,
    createdAt: now,
    lastUsedAt: now,
    expiresAt,
    idleExpiresAt: refresh.expiresAt,
    userAgent: client.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
    ip: client.ip?.slice(0, MAX_IP) ?? null,
    revokedAt: null,
    revokedReason: null,
  }
  await storage.createSession(session, {
    jti: refresh.jti,
    tokenHash: refresh.tokenHash,
    sessionId,
    parentJti: null,
    issuedAt: now,
    expiresAt: refresh.expiresAt,
  })
  const access = await createAccessToken(options, keys, user, sessionId, now)
  return { user, session, access, refresh }
}

/** The active sessions of a user, newest first. */
export function listSessions(engine: Engine, userId: string): Promise<SessionRecord[]> {
  return engine.storage.listActiveSessions(userId, Date.now())
}

/** Revokes one session of `userId`; `not_found` when it is not theirs or not active. */
export async function revokeOwnSession(engine: Engine, userId: string, sessionId: string): Promise<void> {
  const revoked = await engine.storage.revokeSession(sessionId, userId, 'session_deleted', Date.now())
  if (!revoked) throw new AuthError('not_found', 'No such session')
}
