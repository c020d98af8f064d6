import type { Engine } from '../engine/engine.js'
import { isSessionLive } from '../storage/storage.js'

/**
 * Whether session `sessionId` of `userId` is still live, for `requireAuth({ checkSession: true })`.
 * A short-lived cache (`sessionCheckCacheTtl`) spares a storage read per request; revocations made
 * through this instance clear it at once (storage/session-status-cache.ts).
 */
export async function isSessionActive(engine: Engine, sessionId: string, userId: string): Promise<boolean> {
  const cached = engine.sessionCache.lookUp(sessionId, userId, Date.now())
  if (cached !== undefined) return cached
  const readSince = engine.sessionCache.generation
  const session = await engine.storage.findSession(sessionId)
  const now = Date.now()
  const active = session !== null && session.userId === userId && isSessionLive(session, now)
  const expiresAt = session ? Math.min(session.expiresAt, session.idleExpiresAt) : Infinity
  engine.sessionCache.remember(sessionId, session?.userId ?? null, active, { now, readSince, expiresAt })
  return active
}
