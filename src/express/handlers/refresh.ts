import type { Engine } from '../../engine/engine.js'
import { AuthError } from '../../errors.js'
import { resolveCookieNames } from '../../protocol/cookies.js'
import type { TokenResponseData } from '../../protocol/wire-schemas.js'
import { isRefusedRefreshToken, rotateRefreshToken } from '../../sessions/rotation.js'
import { readClientInfo } from '../client-info.js'
import { clearTokenCookies } from '../cookies.js'
import { assertSameOrigin } from '../csrf.js'
import { dpopCheckOf, readRefreshProof } from '../dpop.js'
import { sendError } from '../envelope.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { sendTokenPair } from '../token-response.js'
import { readRefreshToken } from '../token-source.js'

/** `POST /refresh` (and `/update-token`): rotates the refresh token and issues a new pair. */
export function refreshHandler(
  engine: Engine,
  answer: RouteAnswer<TokenResponseData>,
): RouteHandler<undefined> {
  const cookieNames = resolveCookieNames(engine.options.cookiePrefix)
  const dpop = dpopCheckOf(engine)
  return async function refresh(req, res) {
    const presented = readRefreshToken(req, cookieNames)
    if (!presented) throw new AuthError('missing_refresh_token', 'Refresh token is required')
    if (presented.from === 'cookie') assertSameOrigin(req, engine.options.allowedOrigins)
    try {
      const client = { ...readClientInfo(req), ...(await readRefreshProof(req, dpop)) }
      const pair = await rotateRefreshToken(engine, presented.token, client)
      sendTokenPair(engine, req, res, pair, answer, 'Access token is updated')
    } catch (error) {
      // A refused refresh token is dead for good: drop the cookies so the browser stops sending them.
      if (isRefusedRefreshToken(error)) {
        if (presented.from === 'cookie') clearTokenCookies(res, engine.options)
        sendError(res, error)
        return
      }
      throw error
    }
  }
}
