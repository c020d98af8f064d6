import { type ZodType, z } from 'zod'
import {
  changePasswordSchema,
  loginSchema,
  passwordResetRequestSchema,
  passwordResetSchema,
  refreshBodySchema,
  registerSchema,
  updateProfileSchema,
  verifyEmailSchema,
} from '../users/user-schemas.js'

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

type Method = 'get' | 'post' | 'patch' | 'delete'
type Auth = 'access' | 'refresh' | 'none'

interface RouteDoc {
  method: Method
  /** Express path under the base path (or absolute with `root`). */
  path: string
  summary: string
  /** The zod schema that validates the body: the same object the handler uses. */
  body?: ZodType
  auth: Auth
  success: number
  /** What `data` holds on success. */
  data: 'tokens' | 'user' | 'null' | 'sessions' | 'revoked' | 'status'
  /** Mounted at the server's root rather than under the base path. */
  root?: true
  /** A bare body, not the envelope. */
  bare?: 'jwks' | 'text' | 'openapi'
}

/* The routes of API.md. A test walks the Express router and fails if one of its routes is missing
 * here, so this table cannot fall behind the code. */
const ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/register',
    summary: 'Create a user and log in',
    body: registerSchema,
    auth: 'none',
    success: 201,
    data: 'tokens',
  },
  {
    method: 'post',
    path: '/login',
    summary: 'Log in by username or email',
    body: loginSchema,
    auth: 'none',
    success: 200,
    data: 'tokens',
  },
  {
    method: 'post',
    path: '/refresh',
    summary: 'Rotate the refresh token into a new pair',
    body: refreshBodySchema,
    auth: 'refresh',
    success: 200,
    data: 'tokens',
  },
  {
    method: 'post',
    path: '/update-token',
    summary: 'Same as /refresh (the reference design name)',
    body: refreshBodySchema,
    auth: 'refresh',
    success: 200,
    data: 'tokens',
  },
  {
    method: 'post',
    path: '/logout',
    summary: 'End this session and clear the cookies',
    body: refreshBodySchema,
    auth: 'none',
    success: 200,
    data: 'null',
  },
  {
    method: 'post',
    path: '/logout-all',
    summary: 'End every session of the user',
    auth: 'access',
    success: 200,
    data: 'revoked',
  },
  { method: 'get', path: '/me', summary: 'The current user', auth: 'access', success: 200, data: 'user' },
  {
    method: 'patch',
    path: '/me',
    summary: 'Update fullname and/or email',
    body: updateProfileSchema,
    auth: 'access',
    success: 200,
    data: 'user',
  },
  {
    method: 'post',
    path: '/change-password',
    summary: 'Change the password; ends the other sessions',
    body: changePasswordSchema,
    auth: 'access',
    success: 200,
    data: 'null',
  },
  {
    method: 'get',
    path: '/sessions',
    summary: 'Active sessions, newest first',
    auth: 'access',
    success: 200,
    data: 'sessions',
  },
  {
    method: 'delete',
    path: '/sessions/:id',
    summary: 'Revoke one of your sessions',
    auth: 'access',
    success: 200,
    data: 'null',
  },
  {
    method: 'post',
    path: '/email/verify/request',
    summary: 'Mail a verification link',
    auth: 'access',
    success: 200,
    data: 'null',
  },
  {
    method: 'post',
    path: '/email/verify',
    body: verifyEmailSchema,
    summary: 'Verify the email address with a mailed token',
    auth: 'none',
    success: 200,
    data: 'user',
  },
  {
    method: 'post',
    path: '/password/reset/request',
    body: passwordResetRequestSchema,
    summary: 'Mail a password reset link',
    auth: 'none',
    success: 200,
    data: 'null',
  },
  {
    method: 'post',
    path: '/password/reset',
    body: passwordResetSchema,
    summary: 'Set a new password with a mailed token',
    auth: 'none',
    success: 200,
    data: 'null',
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public keys (JWK Set)',
    auth: 'none',
    success: 200,
    data: 'null',
    bare: 'jwks',
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public keys (JWK Set)',
    auth: 'none',
    success: 200,
    data: 'null',
    bare: 'jwks',
    root: true,
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'The process is up',
    auth: 'none',
    success: 200,
    data: 'status',
    root: true,
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Ready: 503 while the database is unreachable or the server drains',
    auth: 'none',
    success: 200,
    data: 'status',
    root: true,
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    auth: 'none',
    success: 200,
    data: 'null',
    bare: 'text',
    root: true,
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    auth: 'none',
    success: 200,
    data: 'null',
    bare: 'openapi',
    root: true,
  },
]

/** Express `:param` to OpenAPI `{param}`. */
export function toOpenAPIPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

function schemaOf(schema: ZodType): Record<string, unknown> {
  // The input side: what a client sends, before trimming and lower-casing.
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  delete json.$schema
  return json
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

function envelopeOf(data: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['statusCode', 'data', 'message', 'success'],
    properties: {
      statusCode: { type: 'integer' },
      data,
      message: { type: 'string' },
      success: { const: true },
    },
  }
}

const DATA_SCHEMAS: Record<RouteDoc['data'], Record<string, unknown>> = {
  tokens: ref('TokenResponse'),
  user: ref('User'),
  null: { type: 'null' },
  sessions: { type: 'array', items: ref('Session') },
  revoked: { type: 'object', properties: { revoked: { type: 'integer' } }, required: ['revoked'] },
  status: { type: 'object', properties: { status: { type: 'string' } } },
}

function describe(route: RouteDoc): Record<string, unknown> {
  const operation: Record<string, unknown> = { summary: route.summary }
  if (route.path.includes(':')) {
    operation.parameters = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }))
  }
  if (route.body) {
    operation.requestBody = {
      required: route.auth !== 'refresh' && route.path !== '/logout',
      content: { 'application/json': { schema: schemaOf(route.body) } },
    }
  }
  if (route.auth === 'access') operation.security = [{ bearer: [] }, { accessCookie: [] }]
  if (route.auth === 'refresh') operation.security = [{ refreshCookie: [] }, {}]
  let content: Record<string, unknown>
  if (route.bare === 'jwks') content = { 'application/json': { schema: ref('JWKSet') } }
  else if (route.bare === 'text') content = { 'text/plain': { schema: { type: 'string' } } }
  else if (route.bare === 'openapi') content = { 'application/json': { schema: { type: 'object' } } }
  else content = { 'application/json': { schema: envelopeOf(DATA_SCHEMAS[route.data]) } }
  operation.responses = {
    [String(route.success)]: { description: 'Success', content },
    default: {
      description: 'Error (API.md "Error codes")',
      content: { 'application/json': { schema: ref('Error') } },
    },
  }
  return operation
}

/**
 * Builds the OpenAPI 3.1 document of the server from the zod schemas that validate its requests,
 * so that the document and the validation cannot disagree.
 *
 * @example
 * ```ts
 * app.get('/openapi.json', (_req, res) => res.json(createOpenAPIDocument({ basePath: '/auth' })))
 * ```
 */
export function createOpenAPIDocument(options: OpenAPIOptions = {}): OpenAPIDocument {
  const basePath = options.basePath ?? '/auth'
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of ROUTES) {
    const path = toOpenAPIPath(route.root ? route.path : `${basePath === '/' ? '' : basePath}${route.path}`)
    paths[path] ??= {}
    paths[path][route.method] = describe(route)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tokenpair',
      version: options.version ?? '0.1.0',
      description:
        'Access-token / refresh-token auth server. Every response but JWKS, metrics and this document uses the envelope.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        accessCookie: { type: 'apiKey', in: 'cookie', name: 'accessToken' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: 'refreshToken' },
      },
      schemas: {
        User: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            username: { type: 'string' },
            email: { type: 'string' },
            fullname: { type: 'string' },
            roles: { type: 'array', items: { type: 'string' } },
            emailVerified: { type: 'boolean' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        Session: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            lastUsedAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: 'string', format: 'date-time' },
            userAgent: { type: ['string', 'null'] },
            ip: { type: ['string', 'null'] },
            current: { type: 'boolean' },
          },
        },
        TokenResponse: {
          type: 'object',
          properties: {
            user: ref('User'),
            tokenType: { const: 'Bearer' },
            accessToken: { type: 'string' },
            accessTokenExpiresAt: { type: 'string', format: 'date-time' },
            expiresIn: { type: 'integer' },
            refreshToken: { type: 'string' },
            refreshTokenExpiresAt: { type: 'string', format: 'date-time' },
          },
        },
        JWKSet: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object' } } } },
        Error: {
          type: 'object',
          required: ['statusCode', 'data', 'message', 'success', 'code', 'errors'],
          properties: {
            statusCode: { type: 'integer' },
            data: { type: 'null' },
            message: { type: 'string' },
            success: { const: false },
            code: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  }
}
