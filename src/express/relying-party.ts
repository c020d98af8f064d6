import type { Request } from 'express'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import { isLoopbackHost } from '../internal/loopback.js'
import type { RelyingParty } from '../users/passkeys.js'

/** The request's own origin as the URL parser reads `Host`, or `null` when it is no plain origin. */
function requestOrigin(req: Request): URL | null {
  const host = req.host
  if (!host) return null
  try {
    const url = new URL(`${req.protocol}://${host}`)
    if (url.username !== '' || url.password !== '' || url.pathname !== '/') return null
    return url
  } catch {
    return null
  }
}

/**
 * The relying party of passkeys for this request: `webauthn.rpId`, else the host of `appUrl`, else
 * the request's own host when it is loopback (development). The accepted origins are the
 * request's own (for an RP ID it belongs to), `appUrl`'s and `allowedOrigins`. Without an RP ID
 * there are no passkeys: `404 not_found`.
 */
export function readRelyingParty(engine: Engine, req: Request): RelyingParty {
  const { webauthn, appUrl, allowedOrigins } = engine.options
  const own = requestOrigin(req)
  const appOrigin = appUrl === null ? null : new URL(appUrl)
  const id =
    webauthn.rpId ?? appOrigin?.hostname ?? (own && isLoopbackHost(own.hostname) ? own.hostname : null)
  if (id === null) {
    throw new AuthError('not_found', 'Passkeys need WEBAUTHN_RP_ID or APP_URL on this server')
  }
  const origins = new Set<string>(allowedOrigins)
  if (appOrigin) origins.add(appOrigin.origin)
  // The request's own origin counts only where its host is the RP ID or under it.
  if (own && (own.hostname === id || own.hostname.endsWith(`.${id}`))) origins.add(own.origin)
  return { id, name: webauthn.rpName, origins: [...origins] }
}
