import type { RequestHandler } from 'express'
import type { Engine } from '../engine/engine.js'
import { resolveCookieNames } from '../protocol/cookies.js'
import { isSessionActive } from '../sessions/session-check.js'
import { lookUpVerifiedAccessToken, verifyAccessToken } from '../tokens/access-token.js'
import { createRequireAuth, type RequireAuthOptions } from './require-auth.js'

/**
 * `requireAuth` of the auth server itself: verifies with its keys and, unless `checkSession:
 * false`, checks the session in its storage (through the session-status cache).
 */
export function createServerRequireAuth(engine: Engine, options: RequireAuthOptions = {}): RequestHandler {
  return createRequireAuth(
    {
      // A token verified before is answered synchronously from the cache.
      verify: (token) =>
        lookUpVerifiedAccessToken(engine.keys, token) ??
        verifyAccessToken(engine.options, engine.keys, token),
      allowedOrigins: engine.options.allowedOrigins,
      cookieNames: resolveCookieNames(engine.options.cookiePrefix),
      isSessionActive: (sessionId, userId) => isSessionActive(engine, sessionId, userId),
    },
    { ...options, checkSession: options.checkSession ?? true },
  )
}
