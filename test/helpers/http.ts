/** A parsed response: status, headers, JSON body (or `null`), and the raw `Set-Cookie` lines. */
export interface HTTPResult<T = unknown> {
  status: number
  headers: Headers
  body: T
  setCookies: string[]
}

/** The envelope of docs/api.md, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever the server put in `data`.
export interface Envelope<D = any> {
  statusCode: number
  data: D
  message: string
  success: boolean
  code?: string
  errors?: { path: string; message: string }[]
}

/** Sends one request; a plain object body is sent as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever the server put in `data`.
export async function request<D = any>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<HTTPResult<Envelope<D>>> {
  const headers: Record<string, string> = { ...init.headers }
  let body: string | undefined
  if (init.rawBody !== undefined) body = init.rawBody
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = text
  }
  return {
    status: res.status,
    headers: res.headers,
    body: parsed as Envelope<D>,
    setCookies: res.headers.getSetCookie(),
  }
}

/** One `Set-Cookie` line, parsed. */
export interface ParsedCookie {
  name: string
  value: string
  attributes: Record<string, string | true>
}

/** Parses `Set-Cookie` lines; attribute names are lower-cased. */
export function parseSetCookies(lines: string[]): Map<string, ParsedCookie> {
  const cookies = new Map<string, ParsedCookie>()
  for (const line of lines) {
    const [pair, ...attrs] = line.split(';').map((p) => p.trim())
    const eq = pair!.indexOf('=')
    const name = pair!.slice(0, eq)
    const attributes: Record<string, string | true> = {}
    for (const attr of attrs) {
      const i = attr.indexOf('=')
      if (i === -1) attributes[attr.toLowerCase()] = true
      else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1)
    }
    cookies.set(name, { name, value: decodeURIComponent(pair!.slice(eq + 1)), attributes })
  }
  return cookies
}

let counter = 0

/** A unique, valid registration body. */
export function newUser(overrides: Record<string, unknown> = {}) {
  counter++
  const tag = `${process.pid.toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`
  return {
    username: `user_${tag}`,
    email: `user_${tag}@example.com`,
    fullname: 'Test User',
    password: 'correct horse battery staple',
    ...overrides,
  }
}

/** Registers a user in bearer mode and returns the body's tokens. */
export async function registerBearer(url: string, overrides: Record<string, unknown> = {}) {
  const user = newUser(overrides)
  const res = await request<{ accessToken: string; refreshToken: string; user: { id: string } }>(
    `${url}/auth/register`,
    { body: user, headers: { 'x-auth-mode': 'bearer' } },
  )
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`)
  return {
    ...user,
    id: res.body.data.user.id,
    accessToken: res.body.data.accessToken,
    refreshToken: res.body.data.refreshToken,
  }
}

/** The payload of a JWT, unverified: for reading the claims the server put there. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')
  return JSON.parse(payload) as Record<string, unknown>
}
