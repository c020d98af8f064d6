import type { Request, Response } from 'express'
import type { Engine } from '../engine/engine.js'
import { ValidationError } from '../errors.js'
import { AUTH_MODES, type RequestedAuthMode } from '../protocol/auth-mode.js'
import type { TokenResponseData } from '../protocol/wire-schemas.js'
import type { TokenPair } from '../sessions/token-pair.js'
import { toPublicUser } from '../users/user-view.js'
import { setTokenCookies } from './cookies.js'
import type { RouteAnswer } from './route-table.js'

export type { TokenResponseData } from '../protocol/wire-schemas.js'

/** Where a response puts tokens: `both` (default), `cookie` only or `bearer` (body) only. */
export type AuthMode = 'both' | RequestedAuthMode

/** Reads `X-Auth-Mode`; an unknown value is a validation error rather than a silent default. */
export function readAuthMode(req: Request): AuthMode {
  const header = req.headers['x-auth-mode']
  if (header === undefined) return 'both'
  const value = String(header).trim().toLowerCase()
  if ((AUTH_MODES as readonly string[]).includes(value)) return value as RequestedAuthMode
  throw new ValidationError([{ path: 'X-Auth-Mode', message: 'X-Auth-Mode must be cookie or bearer' }])
}

/** Answers with a token pair: cookies and/or body as `X-Auth-Mode` asks. */
export function sendTokenPair(
  engine: Engine,
  req: Request,
  res: Response,
  pair: TokenPair,
  answer: RouteAnswer<TokenResponseData>,
  message: string,
): void {
  const mode = readAuthMode(req)
  if (mode !== 'bearer') {
    setTokenCookies(res, engine.options, {
      accessToken: pair.access.token,
      refreshToken: pair.refresh.token,
      refreshExpiresAt: pair.refresh.expiresAt,
    })
  }
  const data: TokenResponseData = {
    user: toPublicUser(pair.user),
    tokenType: pair.access.claims.cnf ? 'DPoP' : 'Bearer',
    accessTokenExpiresAt: new Date(pair.access.expiresAt).toISOString(),
    expiresIn: pair.access.claims.exp - pair.access.claims.iat,
    refreshTokenExpiresAt: new Date(pair.refresh.expiresAt).toISOString(),
  }
  if (mode !== 'cookie') {
    data.accessToken = pair.access.token
    data.refreshToken = pair.refresh.token
  }
  // Token responses must never sit in a cache (RFC 6749 §5.1).
  res.setHeader('Cache-Control', 'no-store')
  answer.send(res, data, message)
}
