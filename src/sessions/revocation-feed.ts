import type { Engine } from '../engine/engine.js'
import type { RevokedSessionsFeed } from '../protocol/wire-schemas.js'

/** How long one reading of the feed is served before storage is read again. */
export const REVOCATION_FEED_CACHE_MS = 2000
/** The most sessions one answer lists (the newest first): a bound on the answer and on the read. */
export const MAX_REVOCATION_FEED_ENTRIES = 10_000

interface CachedFeed {
  feed: Promise<RevokedSessionsFeed>
  until: number
  /** The session cache's revocation count when the read began (see {@link readRevocationFeed}). */
  generation: number
}

/* One cached reading per engine: the auth router and the server's root route share it. */
const cache = new WeakMap<Engine, CachedFeed>()

/**
 * The sessions revoked within the last access-token lifetime plus the clock leeway (every session
 * whose access tokens may still be unexpired), newest first, for `/.well-known/revoked-sessions`.
 * A reading is served for {@link REVOCATION_FEED_CACHE_MS}, so that many polling services cost one
 * storage read per window; a revocation made through this instance makes the next request read
 * again at once, and one made by another instance is listed within that window.
 *
 * @example
 * ```ts
 * res.json(await readRevocationFeed(engine))
 * ```
 */
export function readRevocationFeed(engine: Engine, now: number = Date.now()): Promise<RevokedSessionsFeed> {
  const generation = engine.sessionCache.generation
  const cached = cache.get(engine)
  if (cached && cached.until > now && cached.generation === generation) return cached.feed
  const feed = listRevocations(engine, now)
  const entry: CachedFeed = { feed, until: now + REVOCATION_FEED_CACHE_MS, generation }
  cache.set(engine, entry)
  // A failed read (the database is down) is not served to the next request.
  feed.catch(() => {
    if (cache.get(engine) === entry) cache.delete(engine)
  })
  return feed
}

async function listRevocations(engine: Engine, now: number): Promise<RevokedSessionsFeed> {
  const { accessTokenTtlMs, clockToleranceMs } = engine.options
  const since = now - accessTokenTtlMs - clockToleranceMs
  const sessions = await engine.storage.listRevokedSessions(since, MAX_REVOCATION_FEED_ENTRIES)
  return {
    sessions: sessions.map((s) => ({ sid: s.sid, revokedAt: new Date(s.revokedAt).toISOString() })),
    since: new Date(since).toISOString(),
    until: new Date(now).toISOString(),
  }
}
