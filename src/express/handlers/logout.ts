import type { Engine } from '../../engine/engine.js'
import { resolveCookieNames } from '../../protocol/cookies.js'
import type { RevokedCount } from '../../protocol/wire-schemas.js'
import { verifyAccessToken } from '../../tokens/access-token.js'
import { readSignedRefreshToken } from '../../tokens/refresh-token.js'
import { clearTokenCookies } from '../cookies.js'
import { assertSameOrigin } from '../csrf.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { readAccessToken, readRefreshToken } from '../token-source.js'

/** The session a logout names, from its refresh token or else its access token; `null` if none is valid. */
async function findSessionToEnd(
  engine: Engine,
  refreshToken: string | undefined,
  accessToken: string | undefined,
) {
  if (refreshToken) {
    const claims = await readSignedRefreshToken(engine.keys, refreshToken)
    if (claims) return { sessionId: claims.sid, userId: claims.sub }
  }
  if (accessToken) {
    try {
      const claims = await verifyAccessToken(engine.options, engine.keys, accessToken)
      return { sessionId: claims.sid, userId: claims.sub }
    } catch {
      return null
    }
  }
  return null
}

/**
 * `POST /logout`: revokes the session of the presented token and clears both cookies. A missing,
 * expired or unknown token still clears the cookies and answers 200: the client wants out.
 */
export function logoutHandler(engine: Engine, answer: RouteAnswer<null>): RouteHandler<undefined> {
  const names = resolveCookieNames(engine.options.cookiePrefix)
  return async function logout(req, res) {
    const refresh = readRefreshToken(req, names)
    const access = readAccessToken(req, names)
    // Any cookie credential that the logout may fall back on makes it cookie-borne.
    if (refresh?.from === 'cookie' || access?.from === 'cookie') {
      assertSameOrigin(req, engine.options.allowedOrigins)
    }
    const target = await findSessionToEnd(engine, refresh?.token, access?.token)
    if (
      target &&
      (await engine.storage.revokeSession(target.sessionId, target.userId, 'logout', Date.now()))
    ) {
      engine.events.emit({ type: 'session_revoked', ...target, reason: 'logout' })
    }
    clearTokenCookies(res, engine.options)
    answer.send(res, null, 'Logged out')
  }
}

/** `POST /logout-all`: revokes every session of the user, the current one included. */
export function logoutAllHandler(engine: Engine, answer: RouteAnswer<RevokedCount>): RouteHandler<undefined> {
  return async function logoutAll(req, res) {
    const revoked = await engine.storage.revokeUserSessions(req.auth!.userId, 'logout_all', Date.now())
    if (revoked > 0) {
      engine.events.emit({
        type: 'session_revoked',
        userId: req.auth!.userId,
        reason: 'logout_all',
        count: revoked,
      })
    }
    clearTokenCookies(res, engine.options)
    answer.send(res, { revoked }, 'Logged out of every session')
  }
}
