import type { Request } from 'express'
import { ACCESS_COOKIE, REFRESH_COOKIE, readCookie } from './cookies.js'

/** A token and where it came from; `cookie` makes a state change subject to the CSRF check. */
export interface PresentedToken {
  token: string
  from: 'header' | 'cookie' | 'body'
}

/** The access token: `Authorization: Bearer`, else the `accessToken` cookie. */
export function readAccessToken(req: Request): PresentedToken | null {
  const header = req.headers.authorization
  if (typeof header === 'string' && header !== '') {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    // A malformed Authorization header is a presented-and-refused token, not a missing one.
    return { token: match ? match[1]! : header, from: 'header' }
  }
  const cookie = readCookie(req, ACCESS_COOKIE)
  return cookie ? { token: cookie, from: 'cookie' } : null
}

/** The refresh token: the `refreshToken` cookie, else the body field `refreshToken`. */
export function readRefreshToken(req: Request): PresentedToken | null {
  const cookie = readCookie(req, REFRESH_COOKIE)
  if (cookie) return { token: cookie, from: 'cookie' }
  const body = req.body as unknown
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const value = (body as Record<string, unknown>).refreshToken
    if (typeof value === 'string' && value !== '') return { token: value, from: 'body' }
  }
  return null
}
