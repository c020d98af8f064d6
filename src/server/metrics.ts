import { timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import { AuthError } from '../errors.js'
import type { SecurityEvent, SecurityEventType } from '../events/events.js'
import { sendError } from '../express/envelope.js'

/** The server's Prometheus metrics, in a registry of their own (never prom-client's global one). */
export interface ServerMetrics {
  readonly registry: Registry
  /** Times every request, labelled by route pattern (never the raw path) and status. */
  measureRequests(): RequestHandler
  /** `GET /metrics`: the Prometheus text format. */
  serveMetrics(): RequestHandler
  /** Counts security events; subscribe it to `auth.events`. */
  countEvent(event: SecurityEvent): void
}

/** Options of {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Where the auth router is mounted, to recognise rate-limited logins. Default `/auth`. */
  basePath?: string
  /**
   * Also export prom-client's process metrics (CPU, memory, event-loop lag, GC) under
   * `tokenpair_`. Default `false`: they watch the whole process, so one set per process is enough,
   * and the ready server turns them on.
   */
  collectProcessMetrics?: boolean
  /**
   * `METRICS_TOKEN`: when set, `GET /metrics` answers only requests with `Authorization: Bearer
   * <token>` (else `401`), since the counters tell an outsider how busy and how attacked the
   * server is. Default: open (bind the server to a private address instead).
   */
  token?: string
}

/**
 * Creates the metrics of one server: logins (succeeded, failed, limited), registrations,
 * refreshes, refresh-token reuse, revoked sessions, request durations, and the process defaults.
 *
 * @example
 * ```ts
 * const metrics = createServerMetrics({ basePath: '/auth' })
 * auth.events.subscribe((e) => metrics.countEvent(e))
 * app.use(metrics.measureRequests())
 * app.get('/metrics', metrics.serveMetrics())
 * ```
 */
export function createServerMetrics(options: ServerMetricsOptions = {}): ServerMetrics {
  const loginPath = `${options.basePath ?? '/auth'}/login`
  const registry = new Registry()
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  if (options.collectProcessMetrics === true)
    collectDefaultMetrics({ register: registry, prefix: 'tokenpair_' })
  const logins = counter(
    'tokenpair_logins_total',
    'Login attempts by outcome: succeeded, failed (invalid credentials), limited (rate limited).',
    ['outcome'] as const,
  )
  for (const outcome of ['succeeded', 'failed', 'limited']) logins.inc({ outcome }, 0)
  const registrations = counter('tokenpair_registrations_total', 'Users registered.')
  const refreshes = counter('tokenpair_refreshes_total', 'Refresh tokens rotated into a new pair.')
  const reuses = counter(
    'tokenpair_refresh_reuse_detected_total',
    'Used refresh tokens presented again outside the grace window (their session is revoked).',
  )
  const reuseOutcomes = counter(
    'tokenpair_refresh_reuse_total',
    'Used refresh tokens presented again, by outcome: grace (answered with the same successor) or reused (session revoked).',
    ['outcome'] as const,
  )
  for (const outcome of ['grace', 'reused']) reuseOutcomes.inc({ outcome }, 0)
  const unbound = counter(
    'tokenpair_refresh_unbound_total',
    'Refreshes of DPoP-bound sessions refused for want of a valid proof by the bound key (the token was not consumed).',
  )
  const expectedAuthorization = options.token === undefined ? null : Buffer.from(`Bearer ${options.token}`)
  const revocations = counter('tokenpair_sessions_revoked_total', 'Sessions revoked, by reason.', [
    'reason',
  ] as const)
  const durations = new Histogram({
    name: 'tokenpair_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })

  // What each security event counts; events without a row count nothing.
  const COUNTS: Partial<Record<SecurityEventType, (event: SecurityEvent) => void>> = {
    login_succeeded: () => logins.inc({ outcome: 'succeeded' }),
    login_failed: () => logins.inc({ outcome: 'failed' }),
    user_registered: () => registrations.inc(),
    token_refreshed: () => refreshes.inc(),
    refresh_grace: () => reuseOutcomes.inc({ outcome: 'grace' }),
    refresh_reused: () => {
      reuses.inc()
      reuseOutcomes.inc({ outcome: 'reused' })
    },
    refresh_unbound: () => unbound.inc(),
    session_revoked: (e) => revocations.inc({ reason: e.reason ?? 'unknown' }, e.count ?? 1),
  }

  return {
    registry,
    measureRequests() {
      return function measureRequest(req, res, next) {
        const started = process.hrtime.bigint()
        res.once('finish', () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9
          // The route pattern, not the path: `/auth/sessions/:id` is one series, whatever the id.
          const route =
            req.route?.path === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`
          durations.observe({ method: req.method, route, status: String(res.statusCode) }, seconds)
          // A limited login never reaches the login code, so it is counted from its answer.
          if (res.statusCode === 429 && req.originalUrl.split('?')[0] === loginPath) {
            logins.inc({ outcome: 'limited' })
          }
        })
        next()
      }
    },
    serveMetrics() {
      return async function serveMetrics(req, res) {
        if (expectedAuthorization !== null && !matches(req.headers.authorization, expectedAuthorization)) {
          const given = req.headers.authorization !== undefined
          sendError(
            res,
            new AuthError(
              given ? 'invalid_token' : 'missing_token',
              'Metrics need the METRICS_TOKEN bearer token',
            ),
          )
          return
        }
        res.setHeader('Content-Type', registry.contentType)
        res.setHeader('Cache-Control', 'no-store')
        res.end(await registry.metrics())
      }
    },
    countEvent(event) {
      COUNTS[event.type]?.(event)
    },
  }
}

/** Constant-time comparison of an `Authorization` header, so that timing says nothing of the token. */
function matches(header: string | undefined, expected: Buffer): boolean {
  if (typeof header !== 'string') return false
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
