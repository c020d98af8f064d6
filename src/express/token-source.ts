import type { Request } from 'express'
import { ACCESS_COOKIE, type CookieNames, REFRESH_COOKIE } from '../protocol/cookies.js'

/**
 * One cookie's value from the request: from `req.cookies` when a cookie parser ran, else read from
 * the header, so that `requireAuth` works in an app without cookie-parser.
 */
export function readCookie(req: Request, name: string): string | undefined {
  const parsed = (req as { cookies?: Record<string, unknown> }).cookies
  if (parsed && typeof parsed === 'object') {
    const value = parsed[name]
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue
    const raw = part.slice(eq + 1).trim()
    try {
      return decodeURIComponent(raw) || undefined
    } catch {
      return undefined
    }
  }
  return undefined
}

/** A token and where it came from; `cookie` makes a state change subject to the CSRF check. */
export interface PresentedToken {
  token: string
  from: 'header' | 'cookie' | 'body'
  /** The `Authorization` scheme of a header token: `DPoP` for a sender-constrained one (RFC 9449). */
  scheme?: 'Bearer' | 'DPoP'
}

/** Every name a token cookie may carry, strongest prefix first (for callers that do not know the prefix). */
const ANY_ACCESS_NAMES = [`__Host-${ACCESS_COOKIE}`, `__Secure-${ACCESS_COOKIE}`, ACCESS_COOKIE]
const ANY_REFRESH_NAMES = [`__Secure-${REFRESH_COOKIE}`, REFRESH_COOKIE]

function readFirstCookie(req: Request, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = readCookie(req, name)
    if (value) return value
  }
  return undefined
}

/**
 * The access token: `Authorization: Bearer`, else the access cookie. With `names` (from
 * `resolveCookieNames(options.cookiePrefix)`) only that cookie name counts, so that an unprefixed
 * cookie planted by a sibling subdomain is ignored; without, any prefix is accepted.
 */
export function readAccessToken(req: Request, names?: CookieNames): PresentedToken | null {
  const header = req.headers.authorization
  if (typeof header === 'string' && header !== '') {
    const match = /^(Bearer|DPoP)[ ]+(\S+)\s*$/i.exec(header)
    // RFC 6750 §2.1: the scheme is required. A header without it (a bare JWT) or with another
    // scheme is a presented-and-refused credential (`invalid_token`), not a missing one, and
    // never a token: the empty string fails every check.
    if (!match) return { token: '', from: 'header' }
    const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
    return { token: match[2]!, from: 'header', scheme }
  }
  const cookie = readFirstCookie(req, names ? [names.access] : ANY_ACCESS_NAMES)
  return cookie ? { token: cookie, from: 'cookie' } : null
}

/** The refresh token: the refresh cookie (see `names` above), else the body field `refreshToken`. */
export function readRefreshToken(req: Request, names?: CookieNames): PresentedToken | null {
  const cookie = readFirstCookie(req, names ? [names.refresh] : ANY_REFRESH_NAMES)
  if (cookie) return { token: cookie, from: 'cookie' }
  const body = req.body as unknown
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const value = (body as Record<string, unknown>).refreshToken
    if (typeof value === 'string' && value !== '') return { token: value, from: 'body' }
  }
  return null
}
