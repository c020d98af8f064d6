import type { IRouter, Request, RequestHandler, Response } from 'express'
import type { z } from 'zod'
import { validate } from '../internal/validate.js'
import { tokenResponseSchema } from '../protocol/wire-schemas.js'
import { sendSuccess } from './envelope.js'
import { readAuthMode } from './token-response.js'

/* Routes as data: each router declares its routes as rows, mounts them with `mountRoutes`, and the
 * OpenAPI document is generated from the same rows, so the two cannot disagree. */

/** The HTTP methods the rows use. */
export type RouteMethod = 'get' | 'post' | 'patch' | 'delete'

/**
 * What authenticates a route: nothing, an access token (the router checks it before the handler
 * runs), or a refresh token (read by the handler, from its cookie or the body field `refreshToken`).
 */
export type RouteAuth = 'none' | 'access' | 'refresh'

/** Media types of a bare body (one that is not the envelope). */
export type BareMediaType = 'application/json' | 'text/plain' | 'text/javascript'

/** A route as the router mounts it and the OpenAPI document describes it. */
export interface RouteRow<Deps> {
  readonly method: RouteMethod
  /** Express path, relative to where the router is mounted. */
  readonly path: string
  readonly auth: RouteAuth
  /** One line for the document. */
  readonly summary: string
  /** Schema of the JSON body; the router validates the body with it before the handler runs. */
  readonly body?: z.ZodType
  /** Schema of `data` in the success envelope or, with `bare`, of the whole body. */
  readonly data: z.ZodType
  /** Set when the success body is not the envelope: its media type. */
  readonly bare?: BareMediaType
  /** Status of the success answer; a `3xx` is a redirect (`Location`), with no body. */
  readonly status: number
  /** Query parameters the route reads, for the document (the handler reads and checks them itself). */
  readonly query?: z.ZodObject
  /** Builds the function the router mounts, after the access check that `auth` asks for. */
  create(deps: Deps): RequestHandler
}

/** How a handler answers success: with its row's status, `data` in the envelope. */
export interface RouteAnswer<Data> {
  readonly status: number
  send(res: Response, data: Data, message: string): void
}

/** A handler of a row: `input` is the body its row's schema parsed (`undefined` without one). */
export type RouteHandler<Input> = (req: Request, res: Response, input: Input) => Promise<void> | void

type InputOf<Body> = Body extends z.ZodType ? z.output<Body> : undefined

/** A row whose handler answers in the envelope, as written in a route table. */
export interface EnvelopeRouteDefinition<Deps, Body extends z.ZodType | undefined, Data extends z.ZodType> {
  method: RouteMethod
  path: string
  auth: RouteAuth
  summary: string
  body?: Body
  data: Data
  status: number
  /** Called once per router: the handler for its dependencies and its row's answer. */
  handler: (deps: Deps, answer: RouteAnswer<z.output<Data>>) => RouteHandler<InputOf<Body>>
}

/** A row whose handler writes a bare body itself, as written in a route table. */
export interface BareRouteDefinition<Deps> {
  method: RouteMethod
  path: string
  auth: RouteAuth
  summary: string
  data: z.ZodType
  bare: BareMediaType
  status: number
  query?: z.ZodObject
  handler: (deps: Deps) => RequestHandler
}

/** Whether a row answers with a token pair (and so reads `X-Auth-Mode` and sets the token cookies). */
export function issuesTokens(row: Pick<RouteRow<unknown>, 'data'>): boolean {
  return row.data === tokenResponseSchema
}

/**
 * A row answered in the envelope. Its handler gets the body parsed by `body`, and answers through
 * `answer`, which holds the row's status; the types tie the handler to the row's schemas.
 *
 * @example
 * ```ts
 * defineRoute({ method: 'get', path: '/me', auth: 'access', summary: 'The current user',
 *   data: publicUserSchema, status: 200, handler: meHandler })
 * ```
 */
export function defineRoute<
  Deps,
  Body extends z.ZodType | undefined = undefined,
  Data extends z.ZodType = z.ZodType,
>(definition: EnvelopeRouteDefinition<Deps, Body, Data>): RouteRow<Deps> {
  const { handler, ...row } = definition
  const answer: RouteAnswer<z.output<Data>> = {
    status: row.status,
    send: (res, data, message) => sendSuccess(res, row.status, data, message),
  }
  const tokens = issuesTokens(row)
  return {
    ...row,
    create(deps) {
      const handle = handler(deps, answer)
      return async function route(req, res) {
        // A bad X-Auth-Mode is refused before the body is looked at.
        if (tokens) readAuthMode(req)
        const input = (row.body === undefined ? undefined : validate(row.body, req.body)) as InputOf<Body>
        await handle(req, res, input)
      }
    },
  }
}

/**
 * A row whose handler writes a body that is not the envelope (a JWK Set, metrics, a document).
 *
 * @example
 * ```ts
 * defineBareRoute({ method: 'get', path: '/metrics', auth: 'none', summary: 'Prometheus metrics',
 *   data: z.string(), bare: 'text/plain', status: 200, handler: (deps) => deps.metrics.serveMetrics() })
 * ```
 */
export function defineBareRoute<Deps>(definition: BareRouteDefinition<Deps>): RouteRow<Deps> {
  const { handler, ...row } = definition
  return { ...row, create: handler }
}

/** Mounts `rows` on `router`, each after `authenticate` where its `auth` is `access`. */
export function mountRoutes<Deps>(
  router: IRouter,
  rows: readonly RouteRow<Deps>[],
  deps: Deps,
  options: { authenticate?: RequestHandler } = {},
): void {
  for (const row of rows) {
    const handler = row.create(deps)
    if (row.auth !== 'access') {
      router[row.method](row.path, handler)
      continue
    }
    if (!options.authenticate) throw new TypeError(`${row.path}: an access-token route needs authenticate`)
    router[row.method](row.path, options.authenticate, handler)
  }
}
