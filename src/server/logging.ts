import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import { type DestinationStream, type Logger, pino } from 'pino'
import { pinoHttp } from 'pino-http'
import type { LogLevel } from '../config/env.js'

/**
 * Paths pino blanks in every line, a second line of defence behind the request serializer (which
 * logs no header at all): whatever code logs a request or response object, its credentials stay out.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-refresh-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'password',
  'currentPassword',
  'newPassword',
  'refreshToken',
  'accessToken',
  'token',
] as const

/** An incoming `X-Request-Id` is echoed only if it is short and plain: it goes into every log line. */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel
  /** Where lines go. Default: standard output. */
  destination?: DestinationStream
}

/**
 * The server's logger: pino, one JSON object per line, secrets redacted.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info' })
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    options.destination,
  )
}

/** The request id of a request: its `X-Request-Id` when that is safe to log, else a new UUID. */
export function readRequestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

/** The path of a URL without its query string, which may carry a mail-link token. */
function stripQuery(url: string | undefined): string {
  if (url === undefined) return ''
  const i = url.indexOf('?')
  return i === -1 ? url : url.slice(0, i)
}

/**
 * Middleware that writes one JSON line per request when its response is finished: method, path
 * (no query string), status, duration, request id (set on `req.id` and echoed in `X-Request-Id`),
 * and the user and session ids when `requireAuth` identified them. Headers and bodies are never
 * logged, so no cookie, token or password can reach the log.
 */
export function createRequestLogger(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = readRequestId(req)
      res.setHeader('X-Request-Id', id)
      return id
    },
    wrapSerializers: false,
    serializers: {
      req(req: IncomingMessage & { id?: unknown }) {
        return { id: req.id, method: req.method, url: stripQuery(req.url) }
      },
      res(res: ServerResponse) {
        return { statusCode: res.statusCode }
      },
    },
    customProps(req: IncomingMessage & { id?: unknown }) {
      // reqId top-level, so that one `grep` finds every line of a request. pino-http calls this at
      // the start (no user yet) and again at the end, adding only what changed.
      const auth = (req as { auth?: { userId: string; sessionId: string } }).auth
      return auth ? { userId: auth.userId, sessionId: auth.sessionId } : { reqId: req.id }
    },
    customLogLevel(_req: IncomingMessage, res: ServerResponse, error?: Error) {
      if (error || res.statusCode >= 500) return 'error'
      return 'info'
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
  })
  return function logRequest(req, res, next) {
    middleware(req, res, next)
  }
}
