import type { CookieOptions, Request, Response } from 'express'
import type { CookiePrefix, ResolvedOptions } from '../config/options.js'

/** Cookie names of the reference design. */
export const ACCESS_COOKIE = 'accessToken'
export const REFRESH_COOKIE = 'refreshToken'

/** The names the token cookies carry under a `cookiePrefix`. */
export interface CookieNames {
  access: string
  refresh: string
}

/**
 * Cookie names for a prefix. A `__Host-` cookie must have `Path=/`, so only the access cookie can
 * take it; the refresh cookie (`Path=/auth`) takes `__Secure-`. Browsers refuse to let a
 * non-secure page or a sibling subdomain set a prefixed cookie, which stops cookie injection.
 */
export function resolveCookieNames(prefix: CookiePrefix): CookieNames {
  switch (prefix) {
    case 'host':
      return { access: `__Host-${ACCESS_COOKIE}`, refresh: `__Secure-${REFRESH_COOKIE}` }
    case 'secure':
      return { access: `__Secure-${ACCESS_COOKIE}`, refresh: `__Secure-${REFRESH_COOKIE}` }
    default:
      return { access: ACCESS_COOKIE, refresh: REFRESH_COOKIE }
  }
}

/** Browsers cap Max-Age at 400 days (RFC 6265bis); a longer one would be silently cut. */
const MAX_COOKIE_AGE_MS = 400 * 86_400_000

function cookieOptions(options: ResolvedOptions, kind: 'access' | 'refresh'): CookieOptions {
  return {
    httpOnly: true,
    secure: options.cookieSecure,
    // Lax lets a top-level navigation carry the access cookie; the refresh cookie never leaves
    // same-site requests, and only reaches the auth routes.
    sameSite: kind === 'access' ? 'lax' : 'strict',
    path: kind === 'access' ? '/' : options.basePath,
  }
}

/**
 * Sets both token cookies. The access cookie lives as long as the refresh token, longer than the
 * token inside it, so that an expired access token still reaches the server and is answered
 * `token_expired` (the client's cue to refresh) rather than `missing_token`.
 */
export function setTokenCookies(
  res: Response,
  options: ResolvedOptions,
  tokens: { accessToken: string; refreshToken: string; refreshExpiresAt: number },
): void {
  const maxAge = Math.min(Math.max(tokens.refreshExpiresAt - Date.now(), 0), MAX_COOKIE_AGE_MS)
  const names = resolveCookieNames(options.cookiePrefix)
  res.cookie(names.access, tokens.accessToken, { ...cookieOptions(options, 'access'), maxAge })
  res.cookie(names.refresh, tokens.refreshToken, { ...cookieOptions(options, 'refresh'), maxAge })
}

/** Clears both token cookies, with the attributes they were set with so that browsers match them. */
export function clearTokenCookies(res: Response, options: ResolvedOptions): void {
  const names = resolveCookieNames(options.cookiePrefix)
  res.clearCookie(names.access, cookieOptions(options, 'access'))
  res.clearCookie(names.refresh, cookieOptions(options, 'refresh'))
}

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
