import type { RequestHandler } from 'express'
import { AuthError, RefreshTokenReusedError } from '../../errors.js'
import type { Engine } from '../../internal/engine.js'
import { rotateRefreshToken } from '../../sessions/rotation.js'
import { clearTokenCookies, resolveCookieNames } from '../cookies.js'
import { assertSameOrigin } from '../csrf.js'
import { sendError } from '../envelope.js'
import { readAuthMode, sendTokenPair } from '../token-response.js'
import { readRefreshToken } from '../token-source.js'

/** `POST /refresh` (and `/update-token`): rotates the refresh token and issues a new pair. */
export function refreshHandler(engine: Engine): RequestHandler {
  const cookieNames = resolveCookieNames(engine.options.cookiePrefix)
  return async function refresh(req, res) {
    readAuthMode(req)
    const presented = readRefreshToken(req, cookieNames)
    if (!presented) throw new AuthError('missing_refresh_token', 'Refresh token is required')
    if (presented.from === 'cookie') assertSameOrigin(req, engine.options.allowedOrigins)
    // Per client IP, before any signature check or database work; only refused tokens count.
    const attempt = await engine.limits.beginRefreshAttempt(req.ip)
    try {
      const pair = await rotateRefreshToken(engine, presented.token)
      await attempt.succeed()
      sendTokenPair(engine, req, res, pair, 200, 'Access token is updated')
    } catch (error) {
      // A refused refresh token is dead for good: drop the cookies so the browser stops sending them.
      if (
        error instanceof RefreshTokenReusedError ||
        (error instanceof AuthError && error.code === 'invalid_refresh_token')
      ) {
        if (presented.from === 'cookie') clearTokenCookies(res, engine.options)
        sendError(res, error)
        return
      }
      await attempt.cancel()
      throw error
    }
  }
}
