import type { Request } from 'express'
import type { ClientInfo } from '../sessions/token-pair.js'

/** The user agent and IP of a request. `req.ip` honours Express's `trust proxy` setting. */
export function readClientInfo(req: Request): ClientInfo {
  const userAgent = req.headers['user-agent']
  return {
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    ip: req.ip ?? req.socket.remoteAddress ?? null,
  }
}
