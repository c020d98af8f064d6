import { generateKeyPairSync, randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import { createVerifier, type Verifier } from '../../src/verify/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/** A service with no database, protected by the verifier alone. */
async function startService(verifier: Verifier) {
  const app = express()
  app.get('/notes', verifier.requireAuth(), (req, res) => {
    res.json({ userId: req.auth!.userId, sessionId: req.auth!.sessionId })
  })
  app.get('/admin', verifier.requireAuth({ roles: ['admin'] }), (_req, res) => {
    res.json({ ok: true })
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

async function jwksFetches(auth: TestServer): Promise<number> {
  const text = await (await fetch(`${auth.url}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(
        'tokenpair_http_request_duration_seconds_count{method="GET",route="/.well-known/jwks.json",status="200"}',
      ),
    )
  return line ? Number(line.split(' ').pop()) : 0
}

describe('createVerifier (tokenpair/verify)', () => {
  let auth: TestServer
  let service: Awaited<ReturnType<typeof startService>>
  let user: Awaited<ReturnType<typeof registerBearer>>
  const issuer = 'tokenpair'
  const audience = 'tokenpair'

  beforeAll(async () => {
    auth = await startTestServer()
    service = await startService(
      createVerifier({ jwksUrl: `${auth.url}/.well-known/jwks.json`, issuer, audience }),
    )
    user = await registerBearer(auth.url)
  })
  afterAll(async () => {
    service?.server.close()
    await auth?.close()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const call = (path: string, token?: string) =>
    request(`${service.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})

  it('accepts the auth server token and sets req.auth, with no database', async () => {
    const res = await call('/notes', user.accessToken)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ userId: user.id })
  })

  it('refuses a non-canonical encoding of a valid signature, as the server does', async () => {
    const [header, payload, signature] = user.accessToken.split('.') as [string, string, string]
    // An Ed25519 signature is 64 bytes: its last base64url character carries 4 unused bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(signature.at(-1)!)
    const twin = `${signature.slice(0, -1)}${alphabet[last ^ 1]}`
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true)
    const res = await call('/notes', `${header}.${payload}.${twin}`)
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_token')
  })

  it('answers like the server: missing_token, forbidden, token_expired', async () => {
    const missing = await call('/notes')
    expect(missing.status).toBe(401)
    expect(missing.body.code).toBe('missing_token')
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    const forbidden = await call('/admin', user.accessToken)
    expect(forbidden.status).toBe(403)
    expect(forbidden.body.code).toBe('forbidden')
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 16 * 60_000)
    const expired = await call('/notes', user.accessToken)
    expect(expired.status).toBe(401)
    expect(expired.body.code).toBe('token_expired')
  })

  it('refuses other issuers and audiences, and algorithms the configuration does not name', async () => {
    const other = await startTestServer({ issuer: 'someone-else', audience: 'another-app' })
    try {
      const foreign = await registerBearer(other.url)
      // Its keys are fetched, but its iss and aud are not ours.
      const wrongIss = createVerifier({
        jwksUrl: `${other.url}/.well-known/jwks.json`,
        issuer,
        audience: 'another-app',
      })
      await expect(wrongIss.verify(foreign.accessToken)).rejects.toMatchObject({ code: 'invalid_token' })
      const wrongAud = createVerifier({
        jwksUrl: `${other.url}/.well-known/jwks.json`,
        issuer: 'someone-else',
        audience,
      })
      await expect(wrongAud.verify(foreign.accessToken)).rejects.toMatchObject({ code: 'invalid_token' })
      const right = createVerifier({
        jwksUrl: `${other.url}/.well-known/jwks.json`,
        issuer: 'someone-else',
        audience: 'another-app',
      })
      await expect(right.verify(foreign.accessToken)).resolves.toMatchObject({ sub: foreign.id })
    } finally {
      await other.close()
    }
    const es256Only = createVerifier({
      jwksUrl: `${auth.url}/.well-known/jwks.json`,
      issuer,
      audience,
      algorithms: ['ES256'],
    })
    await expect(es256Only.verify(user.accessToken)).rejects.toMatchObject({ code: 'invalid_token' })
    // alg "none" and HS256 tokens naming the server's kid: the token never chooses the algorithm.
    const kid = auth.auth.jwkSet().keys[0]!.kid!
    const claims = {
      sub: user.id,
      sid: randomUUID(),
      jti: randomUUID(),
      username: 'x',
      email: 'x@x.io',
      fullname: 'X',
      roles: ['admin'],
    }
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(auth.auth.jwkSet().keys[0])))
    expect((await call('/admin', hs)).body.code).toBe('invalid_token')
    const [, payload] = hs.split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid })).toString('base64url')}.${payload}.`
    expect((await call('/admin', none)).body.code).toBe('invalid_token')
    expect(() =>
      createVerifier({ jwksUrl: `${auth.url}/x`, issuer, audience, algorithms: ['HS256' as 'EdDSA'] }),
    ).toThrow(ConfigError)
    expect(() => createVerifier({ jwksUrl: 'not a url', issuer, audience })).toThrow(ConfigError)
    expect(() => createVerifier({ jwksUrl: `${auth.url}/x`, issuer: '', audience })).toThrow(ConfigError)
  })

  it('refetches JWKS for an unknown kid at most once per cool-down', async () => {
    const verifier = createVerifier({
      jwksUrl: `${auth.url}/.well-known/jwks.json`,
      issuer,
      audience,
      cooldown: '30s',
    })
    await verifier.verify(user.accessToken)
    const before = await jwksFetches(auth)
    expect(before).toBeGreaterThan(0)
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = await Promise.all(
      Array.from({ length: 10 }, () =>
        new SignJWT({
          sid: randomUUID(),
          jti: randomUUID(),
          username: 'x',
          email: 'x@x.io',
          fullname: 'X',
          roles: ['user'],
        })
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: randomUUID() })
          .setSubject(user.id)
          .setIssuer(issuer)
          .setAudience(audience)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey),
      ),
    )
    for (const token of forged)
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'invalid_token' })
    const after = await jwksFetches(auth)
    expect(after - before).toBeLessThanOrEqual(1)
    await expect(verifier.verify(user.accessToken)).resolves.toMatchObject({ sub: user.id })
  })

  it('answers 503 unavailable when the keys cannot be fetched', async () => {
    const closed = await startService(
      createVerifier({
        jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json',
        issuer,
        audience,
        timeout: '2s',
      }),
    )
    try {
      const res = await request(`${closed.url}/notes`, {
        headers: { authorization: `Bearer ${user.accessToken}` },
      })
      expect(res.status).toBe(503)
      expect(res.body.code).toBe('unavailable')
    } finally {
      closed.server.close()
    }
  })
})
