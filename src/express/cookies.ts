import type { CookieOptions, Response } from 'express'
import type { ResolvedOptions } from '../config/options.js'
import { resolveCookieNames } from '../protocol/cookies.js'

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
