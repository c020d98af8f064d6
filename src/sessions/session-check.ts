import type { Engine } from '../engine/engine.js'
import { isSessionLive } from '../storage/storage.js'

/**
 * Whether session `sessionId` of `userId` is still live, for `requireAuth({ checkSession: true })`.
 * A short-lived cache (`sessionCheckCacheTtl`) spares a storage read per request (and answers
 * synchronously); revocations made
 * through this instance clear it at once (storage/session-status-cache.ts).
 */
export function isSessionActive(
  engine: Engine,
  sessionId: string,
  userId: string,
): boolean | Promise<boolean> {
  // A cached answer is given at once, without a promise: the hot path of a busy client.
  return (
    engine.sessionCache.lookUp(sessionId, userId, Date.now()) ?? readSessionStatus(engine, sessionId, userId)
  )
}

async function readSessionStatus(engine: Engine, sessionId: string, userId: string): Promise<boolean> {
  const readSince = engine.sessionCache.generation
  const session = await engine.storage.findSession(sessionId)
  const now = Date.now()
  const active = session !== null && session.userId === userId && isSessionLive(session, now)
  const expiresAt = session ? Math.min(session.expiresAt, session.idleExpiresAt) : Infinity
  engine.sessionCache.remember(sessionId, session?.userId ?? null, active, { now, readSince, expiresAt })
  return active
}
