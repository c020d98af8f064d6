import type { Request, Response } from 'express'
import type { Engine } from '../engine/engine.js'
import { ValidationError } from '../errors.js'
import type { TokenPair } from '../sessions/token-pair.js'
import { type PublicUser, toPublicUser } from '../users/user-view.js'
import { setTokenCookies } from './cookies.js'
import { sendSuccess } from './envelope.js'

/** Where a response puts tokens: `both` (default), `cookie` only or `bearer` (body) only. */
export type AuthMode = 'both' | 'cookie' | 'bearer'

/** The `data` of a token response (API.md). Tokens are absent in cookie mode. */
export interface TokenResponseData {
  user: PublicUser
  tokenType: 'Bearer'
  accessToken?: string
  accessTokenExpiresAt: string
  expiresIn: number
  refreshToken?: string
  refreshTokenExpiresAt: string
}

/** Reads `X-Auth-Mode`; an unknown value is a validation error rather than a silent default. */
export function readAuthMode(req: Request): AuthMode {
  const header = req.headers['x-auth-mode']
  if (header === undefined) return 'both'
  const value = String(header).trim().toLowerCase()
  if (value === 'cookie' || value === 'bearer') return value
  throw new ValidationError([{ path: 'X-Auth-Mode', message: 'X-Auth-Mode must be cookie or bearer' }])
}

/** Answers with a token pair: cookies and/or body as `X-Auth-Mode` asks. */
export function sendTokenPair(
  engine: Engine,
  req: Request,
  res: Response,
  pair: TokenPair,
  statusCode: number,
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
    tokenType: 'Bearer',
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
  sendSuccess(res, statusCode, data, message)
}
