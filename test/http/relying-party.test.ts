import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import { SoftAuthenticator } from '../helpers/soft-authenticator.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * The relying party of passkeys (docs/api.md, "Passkeys"): the RP ID is `webauthn.rpId`, else the
 * host of `appUrl`, else the request's host when it is loopback; the accepted origins are the
 * server's own (for a host at or under the RP ID), `appUrl`'s and `allowedOrigins`.
 */
let configured: TestServer
let byAppUrl: TestServer
let plain: TestServer
beforeAll(async () => {
  ;[configured, byAppUrl, plain] = await Promise.all([
    startTestServer({
      rateLimit: false,
      webauthn: { rpId: 'example.test' },
      allowedOrigins: ['https://app.example.test'],
    }),
    startTestServer({ rateLimit: false, appUrl: 'https://id.example.org' }),
    startTestServer({ rateLimit: false }),
  ])
})
afterAll(async () => {
  await Promise.all([configured?.close(), byAppUrl?.close(), plain?.close()])
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Registers a passkey on `server` made at `origin`; answers the status and the authenticator. */
async function register(server: TestServer, origin: string) {
  const user = await registerBearer(server.url)
  const begin = await request(`${server.url}/auth/passkeys/register/options`, {
    body: { currentPassword: user.password },
    headers: bearer(user.accessToken),
  })
  expect(begin.status).toBe(200)
  const authenticator = new SoftAuthenticator()
  const response = authenticator.register(begin.body.data, { origin })
  const done = await request(`${server.url}/auth/passkeys/register`, {
    body: { response },
    headers: bearer(user.accessToken),
  })
  return { rpId: begin.body.data.rp.id as string, status: done.status, code: done.body.code, authenticator }
}

/** One passkey login on `server` with an assertion made at `origin`. */
async function logIn(server: TestServer, authenticator: SoftAuthenticator, origin: string) {
  const begin = await request(`${server.url}/auth/passkeys/login/options`, { method: 'POST' })
  expect(begin.status).toBe(200)
  expect(begin.body.data.options.rpId).toBe(server === configured ? 'example.test' : 'id.example.org')
  const response = authenticator.assert(begin.body.data.options, { origin })
  const res = await request(`${server.url}/auth/passkeys/login`, {
    body: { challengeId: begin.body.data.challengeId, response },
    headers: { 'x-auth-mode': 'bearer' },
  })
  return [res.status, res.body.code]
}

/** `POST` to `path` of `server` with a `Host` header of the client's choosing. */
function postWithHost(
  server: TestServer,
  path: string,
  host: string,
): Promise<{ status: number; code: string }> {
  const { port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { host } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: JSON.parse(text).code }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the relying party of passkeys', () => {
  it('uses webauthn.rpId and accepts the origins of allowedOrigins, no other under the same domain', async () => {
    const { rpId, status, authenticator } = await register(configured, 'https://app.example.test')
    expect([rpId, status]).toEqual(['example.test', 201])
    expect(await logIn(configured, authenticator, 'https://app.example.test')).toEqual([200, undefined])
    // A sibling under the RP ID that is not listed: the browser would sign there, the server refuses.
    expect(await logIn(configured, authenticator, 'https://evil.example.test')).toEqual([
      401,
      'invalid_credentials',
    ])
    // The server's own origin (127.0.0.1) is not under the RP ID, so it is no accepted origin.
    expect(await logIn(configured, authenticator, configured.url)).toEqual([401, 'invalid_credentials'])
    // An assertion for another RP ID (its hash in authenticatorData) is refused.
    authenticator.rpId = 'other.test'
    expect(await logIn(configured, authenticator, 'https://app.example.test')).toEqual([
      401,
      'invalid_credentials',
    ])
  })

  it('refuses a registration made at another origin', async () => {
    const { status, code } = await register(configured, 'https://evil.example.test')
    expect([status, code]).toEqual([400, 'validation_failed'])
  })

  it('takes the RP ID and an accepted origin from appUrl', async () => {
    const { rpId, status, authenticator } = await register(byAppUrl, 'https://id.example.org')
    expect([rpId, status]).toEqual(['id.example.org', 201])
    expect(await logIn(byAppUrl, authenticator, 'https://id.example.org')).toEqual([200, undefined])
    expect(await logIn(byAppUrl, authenticator, 'https://example.org')).toEqual([401, 'invalid_credentials'])
  })

  it('without either, serves passkeys to loopback hosts only (404 not_found for a Host off loopback)', async () => {
    expect(await postWithHost(plain, '/auth/passkeys/login/options', 'auth.example.com')).toEqual({
      status: 404,
      code: 'not_found',
    })
    const { port } = new URL(plain.url)
    expect(await postWithHost(plain, '/auth/passkeys/login/options', `localhost:${port}`)).toMatchObject({
      status: 200,
    })
  })
})
