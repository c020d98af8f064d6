import { z } from 'zod'
import type { Auth } from '../auth.js'
import { AuthError } from '../errors.js'
import { sendError } from '../express/envelope.js'
import { defineBareRoute, defineRoute, type RouteRow } from '../express/route-table.js'
import { JWKS_ROUTE, REVOKED_SESSIONS_ROUTE } from '../express/router.js'
import { clientScriptHandler } from '../express/web-pages.js'
import type { ServerMetrics } from './metrics.js'

/** What the server's own routes need. */
export interface RootRouteDeps {
  auth: Auth
  metrics: ServerMetrics
  /** Set while the server drains. */
  isShuttingDown?: () => boolean
  /** The OpenAPI document, serialized once. */
  openapi: string
}

/** The shape of the OpenAPI document, as far as this document describes itself. */
const openAPIDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
})

/** The routes the ready server mounts at its root, beside the auth router. */
export const ROOT_ROUTES: readonly RouteRow<RootRouteDeps>[] = [
  defineRoute({
    method: 'get',
    path: '/healthz',
    auth: 'none',
    summary: 'The process is up',
    data: z.object({ status: z.literal('ok') }),
    status: 200,
    handler: (_deps, answer) =>
      function healthz(_req, res) {
        answer.send(res, { status: 'ok' }, 'Up')
      },
  }),
  defineRoute({
    method: 'get',
    path: '/readyz',
    auth: 'none',
    summary: 'Ready: 503 unavailable while the database is unreachable or the server drains',
    data: z.object({ status: z.literal('ready') }),
    status: 200,
    handler: ({ auth, isShuttingDown }, answer) =>
      async function readyz(_req, res) {
        if (isShuttingDown?.()) {
          sendError(res, new AuthError('unavailable', 'Shutting down'))
          return
        }
        if (await auth.isReady()) answer.send(res, { status: 'ready' }, 'Ready')
        else sendError(res, new AuthError('unavailable', 'Database is unavailable'))
      },
  }),
  defineBareRoute({
    method: 'get',
    path: '/metrics',
    auth: 'none',
    summary: 'Prometheus metrics',
    data: z.string(),
    bare: 'text/plain',
    status: 200,
    handler: ({ metrics }) => metrics.serveMetrics(),
  }),
  defineBareRoute({
    method: 'get',
    path: '/openapi.json',
    auth: 'none',
    summary: 'This document',
    data: openAPIDocumentSchema,
    bare: 'application/json',
    status: 200,
    handler: ({ openapi }) =>
      function openAPIDocument(_req, res) {
        res.type('application/json').send(openapi)
      },
  }),
  defineBareRoute({ ...JWKS_ROUTE, handler: ({ auth }) => auth.jwks() }),
  defineBareRoute({ ...REVOKED_SESSIONS_ROUTE, handler: ({ auth }) => auth.revokedSessions() }),
  defineBareRoute({
    method: 'get',
    path: '/tokenpair-client.js',
    auth: 'none',
    summary: 'The browser client (tokenpair/client) as one ES module',
    data: z.string(),
    bare: 'text/javascript',
    status: 200,
    handler: () => clientScriptHandler(),
  }),
]
