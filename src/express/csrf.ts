import type { Request } from 'express'
import { AuthError } from '../errors.js'

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Whether the method changes state (CSRF applies to it when its credential is a cookie). */
export function isStateChanging(method: string): boolean {
  return STATE_CHANGING.has(method)
}

function originOf(value: string): string | null {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null
  } catch {
    return null
  }
}

/**
 * Refuses a cookie-borne state change unless its `Origin` (or, lacking it, `Referer`) is the
 * server's own origin or an allowed one. A request with neither header is refused: a browser
 * always sends `Origin` on a cross-origin POST, so only a same-site page could omit both.
 */
export function assertSameOrigin(req: Request, allowedOrigins: readonly string[]): void {
  const origin = req.headers.origin
  const referer = req.headers.referer
  if (typeof origin !== 'string' && typeof referer !== 'string') {
    throw new AuthError('csrf_rejected', 'Cross-site request refused: it carries no Origin or Referer header')
  }
  const claimed = typeof origin === 'string' ? originOf(origin) : originOf(referer!)
  if (claimed !== null) {
    const host = req.headers.host
    const own = host ? `${req.protocol}://${host}`.toLowerCase() : null
    if (claimed === own || allowedOrigins.includes(claimed)) return
  }
  throw new AuthError('csrf_rejected', 'Cross-site request refused: origin not allowed')
}
