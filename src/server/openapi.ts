import { z } from 'zod'
import { issuesTokens, type RouteRow } from '../express/route-table.js'
import { AUTH_ROUTES } from '../express/router.js'
import { AUTH_MODE_HEADER, AUTH_MODES } from '../protocol/auth-mode.js'
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../protocol/cookies.js'
import { errorEnvelopeSchema, fieldErrorSchema, successEnvelopeSchema } from '../protocol/envelope.js'
import {
  jwkSetSchema,
  publicUserSchema,
  refreshBodySchema,
  sessionEntrySchema,
  tokenResponseSchema,
} from '../protocol/wire-schemas.js'
import { ROOT_ROUTES } from './root-routes.js'

/** An OpenAPI 3.1 document (loosely typed: it is served as JSON). */
export type OpenAPIDocument = Record<string, unknown> & {
  openapi: string
  paths: Record<string, Record<string, unknown>>
}

/** Options of {@link createOpenAPIDocument}. */
export interface OpenAPIOptions {
  /** Where the auth router is mounted. Default `/auth`. */
  basePath?: string
  /** `info.version`. Default `0.1.0`. */
  version?: string
}

type JSONSchema = Record<string, unknown>

/** The schemas the document names in `components.schemas`; the others are written in place. */
const COMPONENTS: Readonly<Record<string, z.ZodType>> = {
  User: publicUserSchema,
  Session: sessionEntrySchema,
  TokenResponse: tokenResponseSchema,
  JWKSet: jwkSetSchema,
  FieldError: fieldErrorSchema,
  Error: errorEnvelopeSchema,
}

const componentRef = (id: string): string => `#/components/schemas/${id}`

/** Express `:param` to OpenAPI `{param}`. */
export function toOpenAPIPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

function withoutDialect(json: object): JSONSchema {
  const { $schema: _dialect, $id: _id, ...rest } = json as JSONSchema
  return rest
}

/** The input side of a schema: what a client sends, before trimming and lower-casing. */
function inputSchemaOf(schema: z.ZodType): JSONSchema {
  return withoutDialect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }))
}

/**
 * The output side of the components and of each route's answer, in one pass so that an answer
 * refers to a component by `$ref`. (An answer's schema must not be part of another answer's: it
 * would be referred to under an id that the document does not name.)
 */
function convertAnswers(answers: readonly z.ZodType[]) {
  const registry = z.registry<{ id: string }>()
  const ids = new Map<z.ZodType, string>()
  const add = (schema: z.ZodType, id: string) => {
    if (ids.has(schema)) return
    registry.add(schema, { id })
    ids.set(schema, id)
  }
  for (const [id, schema] of Object.entries(COMPONENTS)) add(schema, id)
  for (const [index, schema] of answers.entries()) add(schema, `answer${index}`)
  const { schemas } = z.toJSONSchema(registry, { io: 'output', unrepresentable: 'any', uri: componentRef })
  const json = (id: string) => withoutDialect(schemas[id]!)
  return {
    components: Object.fromEntries(Object.keys(COMPONENTS).map((id) => [id, json(id)])),
    schemaOf(schema: z.ZodType): JSONSchema {
      const id = ids.get(schema)!
      return id in COMPONENTS ? { $ref: componentRef(id) } : json(id)
    },
  }
}

/** What a row answers on success: `data` in the envelope, or its bare body. */
function answerOf(row: RouteRow<unknown>): z.ZodType {
  return row.bare ? row.data : successEnvelopeSchema(row.data)
}

const SECURITY: Record<RouteRow<unknown>['auth'], unknown[] | undefined> = {
  none: undefined,
  access: [{ bearer: [] }, { accessCookie: [] }],
  // The refresh token comes from its cookie, else from the body.
  refresh: [{ refreshCookie: [] }, {}],
}

function parametersOf(row: RouteRow<unknown>): unknown[] {
  const parameters: unknown[] = [...row.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: inputSchemaOf(z.string()),
  }))
  for (const [name, schema] of Object.entries(row.query?.shape ?? {})) {
    parameters.push({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: inputSchemaOf(schema as z.ZodType),
    })
  }
  if (issuesTokens(row)) {
    parameters.push({
      name: AUTH_MODE_HEADER,
      in: 'header',
      required: false,
      description:
        '`cookie`: the tokens travel in cookies only, none in `data`; `bearer`: in `data` only, no cookie is set. Without it, both.',
      schema: inputSchemaOf(z.enum(AUTH_MODES)),
    })
  }
  return parameters
}

/** `Set-Cookie` of a token-issuing answer. */
function tokenCookiesHeader(basePath: string): Record<string, unknown> {
  return {
    'Set-Cookie': {
      description:
        `Unless \`${AUTH_MODE_HEADER}: bearer\`: \`${ACCESS_COOKIE}\` (HttpOnly; SameSite=Lax; Path=/) and ` +
        `\`${REFRESH_COOKIE}\` (HttpOnly; SameSite=Strict; Path=${basePath}), both Secure unless the ` +
        'server turned it off, and both living as long as the refresh token.',
      schema: inputSchemaOf(z.string()),
    },
  }
}

function describe(
  row: RouteRow<unknown>,
  answer: JSONSchema,
  options: { basePath: string },
): Record<string, unknown> {
  const operation: Record<string, unknown> = { summary: row.summary }
  const parameters = parametersOf(row)
  if (parameters.length > 0) operation.parameters = parameters
  const body = row.body ?? (row.auth === 'refresh' ? refreshBodySchema : undefined)
  if (body) {
    operation.requestBody = {
      required: row.body !== undefined,
      content: { 'application/json': { schema: inputSchemaOf(body) } },
    }
  }
  const security = SECURITY[row.auth]
  if (security) operation.security = security
  const redirects = row.status >= 300 && row.status < 400
  const success: Record<string, unknown> = redirects
    ? {
        description: row.summary,
        headers: {
          Location: { description: 'Where the browser goes next', schema: inputSchemaOf(z.string()) },
        },
      }
    : { description: 'Success', content: { [row.bare ?? 'application/json']: { schema: answer } } }
  if (issuesTokens(row)) success.headers = tokenCookiesHeader(options.basePath)
  operation.responses = {
    [String(row.status)]: success,
    default: {
      description: 'Error: the envelope with a stable `code`, and field problems in `errors`',
      content: { 'application/json': { schema: { $ref: componentRef('Error') } } },
    },
  }
  return operation
}

/**
 * Builds the OpenAPI 3.1 document of the server from its route tables and the zod schemas that
 * validate its requests and type its answers, so that the document and the code cannot disagree.
 *
 * @example
 * ```ts
 * app.get('/openapi.json', (_req, res) => res.json(createOpenAPIDocument({ basePath: '/auth' })))
 * ```
 */
export function createOpenAPIDocument(options: OpenAPIOptions = {}): OpenAPIDocument {
  const basePath = options.basePath ?? '/auth'
  const prefix = basePath === '/' ? '' : basePath
  const routes: { row: RouteRow<unknown>; path: string }[] = [
    ...AUTH_ROUTES.map((row) => ({ row, path: `${prefix}${row.path}` })),
    ...ROOT_ROUTES.map((row) => ({ row, path: row.path })),
  ]
  const answers = routes.map(({ row }) => answerOf(row))
  const converted = convertAnswers(answers)
  const paths: Record<string, Record<string, unknown>> = {}
  routes.forEach(({ row, path }, index) => {
    const openAPIPath = toOpenAPIPath(path)
    paths[openAPIPath] ??= {}
    paths[openAPIPath][row.method] = describe(row, converted.schemaOf(answers[index]!), { basePath })
  })
  return {
    openapi: '3.1.0',
    info: {
      title: 'tokenpair',
      version: options.version ?? '0.1.0',
      description:
        'Access-token / refresh-token auth server. Every answer uses the envelope ' +
        '`{ statusCode, data, message, success }` (errors add `code` and `errors`), except the JWK ' +
        'Set, the metrics, the client script and this document.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        accessCookie: { type: 'apiKey', in: 'cookie', name: ACCESS_COOKIE },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: REFRESH_COOKIE },
      },
      schemas: converted.components,
    },
  }
}
