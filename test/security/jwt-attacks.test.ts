import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { openStorage } from '../../src/storage/open-storage.js'
import type { Storage } from '../../src/storage/storage.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Forged and broken tokens (RFC 8725), against the real server: access tokens at GET /auth/me,
 * refresh tokens at POST /auth/refresh. Each must be answered 401 with its code, never 500, and a
 * forged refresh token must be refused before any database work (rotation checks it first).
 */

const ACCESS_SECRET = 'access-secret-for-attack-tests-0123456789abcdef'
const REFRESH_SECRET = 'refresh-secret-for-attack-tests-0123456789abcdef'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const hmac = (secret: string | Buffer, input: string) =>
  createHmac('sha256', secret).update(input).digest('base64url')

/** A real storage whose session reads are counted: proves a refusal came before the database. */
function countSessionReads(storage: Storage): { storage: Storage; reads: () => number } {
  let reads = 0
  const counted = new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      if (property === 'findSession' || property === 'consumeRefreshToken') {
        return (...args: unknown[]) => {
          reads++
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
      return (value as (...a: unknown[]) => unknown).bind(target)
    },
  })
  return { storage: counted, reads: () => reads }
}

interface Fixture {
  server: TestServer
  reads: () => number
  user: Awaited<ReturnType<typeof registerBearer>>
}

async function startFixture(options: Parameters<typeof startTestServer>[0]): Promise<Fixture> {
  const counted = countSessionReads(await openStorage('sqlite::memory:'))
  const server = await startTestServer({ ...options, database: counted.storage, rateLimit: false })
  const user = await registerBearer(server.url)
  return { server, reads: counted.reads, user }
}

async function closeFixture(fixture: Fixture | undefined): Promise<void> {
  if (!fixture) return
  await fixture.server.close()
  await fixture.server.auth.storage.close()
}

async function expectAccessRefused(f: Fixture, token: string, code = 'invalid_token'): Promise<void> {
  const res = await request(`${f.server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status, `access token ${token.slice(0, 60)}…`).toBe(401)
  expect(res.body.code).toBe(code)
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
}

async function expectAccessAccepted(f: Fixture, token: string): Promise<void> {
  const res = await request(`${f.server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
}

/** Refused with `invalid_refresh_token`, and without reading a session from storage. */
async function expectRefreshRefused(f: Fixture, token: string): Promise<void> {
  const before = f.reads()
  const res = await request(`${f.server.url}/auth/refresh`, {
    body: { refreshToken: token },
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status, `refresh token ${token.slice(0, 60)}…`).toBe(401)
  expect(res.body.code).toBe('invalid_refresh_token')
  expect(f.reads(), 'a forged refresh token reached the database').toBe(before)
}

/** Sets unused low bits in the last character: the same bytes, spelled differently. */
function nonCanonical(segment: string): string {
  const rest = segment.length % 4
  const last = ALPHABET.indexOf(segment.at(-1)!)
  const spare = rest === 2 ? 0b1111 : 0b11
  return segment.slice(0, -1) + ALPHABET[last | spare]
}

describe('EdDSA server: alg, key confusion, kid and key-fetching headers', () => {
  let f: Fixture
  let hits = 0
  let bait: Server
  let baitUrl: string
  beforeAll(async () => {
    f = await startFixture({})
    bait = createServer((_req, res) => {
      hits++
      res.end('{"keys":[]}')
    })
    await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve))
    baitUrl = `http://127.0.0.1:${(bait.address() as AddressInfo).port}/jwks.json`
  })
  afterAll(async () => {
    await closeFixture(f)
    await new Promise<void>((resolve) => bait.close(() => resolve()))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('accepts the genuine tokens (the control)', async () => {
    await expectAccessAccepted(f, f.user.accessToken)
  })

  it('refuses alg none in any case, on both kinds', async () => {
    const [, accessPayload] = f.user.accessToken.split('.')
    const [, refreshPayload] = f.user.refreshToken.split('.')
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      for (const signature of ['', 'e30']) {
        await expectAccessRefused(f, `${b64({ alg, typ: 'at+jwt' })}.${accessPayload}.${signature}`)
        await expectRefreshRefused(f, `${b64({ alg, typ: 'rt+jwt' })}.${refreshPayload}.${signature}`)
      }
    }
  })

  it('refuses HS256 signed with our public key (key confusion), on both kinds', async () => {
    const jwks = (await (await fetch(`${f.server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; x: string }[]
    }
    const key = jwks.keys[0]!
    const publicPem = (await import('node:crypto'))
      .createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.x }, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString()
    const secrets = [key.x, Buffer.from(key.x, 'base64url'), JSON.stringify(key), publicPem]
    for (const [token, typ] of [
      [f.user.accessToken, 'at+jwt'],
      [f.user.refreshToken, 'rt+jwt'],
    ] as const) {
      const { kid } = decodeProtectedHeader(token)
      const header = b64({ alg: 'HS256', typ, kid })
      const payload = token.split('.')[1]
      for (const secret of secrets) {
        const forged = `${header}.${payload}.${hmac(secret, `${header}.${payload}`)}`
        if (typ === 'at+jwt') await expectAccessRefused(f, forged)
        else await expectRefreshRefused(f, forged)
      }
    }
  })

  it('refuses a kid that names no key, a path or an injection', async () => {
    const attacker = generateKeyPairSync('ed25519').privateKey
    const claims = decodeJwt(f.user.accessToken)
    for (const kid of [
      'nope',
      '../../../../../../dev/null',
      '/etc/passwd',
      "x' OR '1'='1",
      'k'.repeat(2000),
    ]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
        .sign(attacker)
      await expectAccessRefused(f, forged)
      const refresh = decodeJwt(f.user.refreshToken)
      const forgedRefresh = await new SignJWT(refresh)
        .setProtectedHeader({ alg: 'HS256', typ: 'rt+jwt', kid })
        .sign(Buffer.from('attacker-chosen-secret-0123456789abcdef'))
      await expectRefreshRefused(f, forgedRefresh)
    }
    const noKid = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).sign(attacker)
    await expectAccessRefused(f, noKid)
  })

  it('ignores jku, x5u and an embedded jwk: never fetched, never trusted', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const jwk = await exportJWK(publicKey)
    const realKid = decodeProtectedHeader(f.user.accessToken).kid!
    const claims = decodeJwt(f.user.accessToken)
    for (const kid of [realKid, 'attacker-key']) {
      for (const extra of [
        { jku: baitUrl },
        { x5u: baitUrl },
        { jwk },
        { jku: baitUrl, x5u: baitUrl, jwk },
      ]) {
        const forged = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, ...extra })
          .sign(privateKey)
        await expectAccessRefused(f, forged)
        const forgedRefresh = await new SignJWT(decodeJwt(f.user.refreshToken))
          .setProtectedHeader({ alg: 'EdDSA', typ: 'rt+jwt', kid, ...extra })
          .sign(privateKey)
        await expectRefreshRefused(f, forgedRefresh)
      }
    }
    expect(hits).toBe(0)
  })

  it('refuses a tampered payload and a stripped signature, on both kinds', async () => {
    for (const [token, refuse] of [
      [f.user.accessToken, (t: string) => expectAccessRefused(f, t)],
      [f.user.refreshToken, (t: string) => expectRefreshRefused(f, t)],
    ] as const) {
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const claims = decodeJwt(token)
      await refuse(`${header}.${b64({ ...claims, sub: randomUUID() })}.${signature}`)
      await refuse(`${header}.${b64({ ...claims, roles: ['admin'] })}.${signature}`)
      await refuse(`${header}.${payload}.`)
      await refuse(`${header}.${payload}`)
      await refuse(`${header}.${payload}.${signature}.${signature}`)
    }
  })

  it('refuses non-canonical base64url spellings of a genuine token', async () => {
    const signature = f.user.accessToken.split('.')[2]!
    const odd = nonCanonical(signature)
    // The control: both spellings decode to the same bytes, so only strictness can refuse it.
    expect(Buffer.from(odd, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true)
    const [h, p] = f.user.accessToken.split('.')
    await expectAccessRefused(f, `${h}.${p}.${odd}`)
    await expectAccessRefused(f, `${h}.${p}.${signature}==`)
    await expectAccessRefused(f, `${h}.${p}.${signature.replaceAll('-', '+').replaceAll('_', '/')}x`)
    const [rh, rp, rs] = f.user.refreshToken.split('.') as [string, string, string]
    await expectRefreshRefused(f, `${rh}.${rp}.${nonCanonical(rs)}`)
    await expectRefreshRefused(f, `${rh}.${rp}.${rs}=`)
  })

  it('refuses 10 KB tokens and swapped kinds', async () => {
    await expectAccessRefused(f, 'x'.repeat(10_240))
    await expectAccessRefused(f, `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`)
    await expectRefreshRefused(f, `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`)
    await expectAccessRefused(f, f.user.refreshToken)
    await expectRefreshRefused(f, f.user.accessToken)
  })

  it('refuses genuine signatures with a wrong iss or aud (a server of another issuer, same keys)', async () => {
    for (const options of [{ issuer: 'someone-else' }, { audience: 'another-api' }]) {
      const other = await startTestServer({ ...options, database: f.server.auth.storage, rateLimit: false })
      try {
        const res = await request(`${other.url}/auth/me`, {
          headers: { authorization: `Bearer ${f.user.accessToken}` },
        })
        expect(res.status).toBe(401)
        expect(res.body.code).toBe('invalid_token')
      } finally {
        await other.close()
      }
    }
  })

  it('refuses genuine tokens issued in the future beyond the leeway (faked clock at issue)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 60_000)
    const early = await registerBearer(f.server.url)
    vi.useRealTimers()
    await expectAccessRefused(f, early.accessToken)
    await expectRefreshRefused(f, early.refreshToken)
  })

  it('refuses genuine tokens once expired (faked clock)', async () => {
    const user = await registerBearer(f.server.url)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 15 * 60_000 + 10_000)
    await expectAccessRefused(f, user.accessToken, 'token_expired')
    vi.setSystemTime(Date.now() + 8 * 86_400_000)
    await expectRefreshRefused(f, user.refreshToken)
  })
})

describe('HS256 server with known secrets: claims signed with the real keys', () => {
  let f: Fixture
  let accessKid: string
  let refreshKid: string
  beforeAll(async () => {
    f = await startFixture({
      algorithm: 'HS256',
      accessTokenSecret: ACCESS_SECRET,
      refreshTokenSecret: REFRESH_SECRET,
    })
    accessKid = decodeProtectedHeader(f.user.accessToken).kid!
    refreshKid = decodeProtectedHeader(f.user.refreshToken).kid!
  })
  afterAll(async () => {
    await closeFixture(f)
  })

  const now = () => Math.floor(Date.now() / 1000)
  const accessClaims = (over: Record<string, unknown> = {}) => ({
    ...decodeJwt(f.user.accessToken),
    iat: now(),
    exp: now() + 600,
    jti: randomUUID(),
    ...over,
  })
  const refreshClaims = (over: Record<string, unknown> = {}) => ({
    ...decodeJwt(f.user.refreshToken),
    iat: now(),
    exp: now() + 600,
    jti: randomUUID(),
    ...over,
  })
  /** Signs raw header and payload text, so that duplicated keys survive. */
  const signRaw = (secret: string, header: string, payload: string) => {
    const input = `${b64(header)}.${b64(payload)}`
    return `${input}.${hmac(secret, input)}`
  }
  const access = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signRaw(
      ACCESS_SECRET,
      JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: accessKid, ...header }),
      JSON.stringify(accessClaims(over)),
    )
  const refresh = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signRaw(
      REFRESH_SECRET,
      JSON.stringify({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid, ...header }),
      JSON.stringify(refreshClaims(over)),
    )

  it('accepts a token forged with the real secret and sound claims (the control)', async () => {
    await expectAccessAccepted(f, access())
    // nbf and iat within the 5 s leeway pass.
    await expectAccessAccepted(f, access({ nbf: now() + 2, iat: now() + 2 }))
  })

  it('refuses expired tokens', async () => {
    await expectAccessRefused(f, access({ iat: now() - 1000, exp: now() - 60 }), 'token_expired')
    await expectRefreshRefused(f, refresh({ iat: now() - 1000, exp: now() - 60 }))
  })

  it('refuses nbf and iat in the future beyond the leeway', async () => {
    await expectAccessRefused(f, access({ nbf: now() + 60 }))
    await expectAccessRefused(f, access({ iat: now() + 60 }))
    await expectRefreshRefused(f, refresh({ nbf: now() + 60 }))
    await expectRefreshRefused(f, refresh({ iat: now() + 60 }))
  })

  it('refuses a wrong iss, aud or typ', async () => {
    await expectAccessRefused(f, access({ iss: 'someone-else' }))
    await expectAccessRefused(f, access({ aud: 'another-api' }))
    await expectAccessRefused(f, access({ aud: ['another-api'] }))
    await expectAccessRefused(f, access({ iss: undefined }))
    for (const typ of ['JWT', 'rt+jwt', 'application/at+jwt+x', undefined]) {
      await expectAccessRefused(f, access({}, { typ }))
    }
    for (const typ of ['JWT', 'at+jwt', undefined]) {
      await expectRefreshRefused(f, refresh({}, { typ }))
    }
  })

  it('refuses missing or mistyped claims and unknown crit extensions', async () => {
    await expectAccessRefused(f, access({ sid: undefined }))
    await expectAccessRefused(f, access({ sub: 42 }))
    await expectAccessRefused(f, access({ roles: 'admin' }))
    await expectAccessRefused(f, access({ exp: '9999999999' }))
    await expectAccessRefused(f, access({}, { crit: ['x-unknown'], 'x-unknown': true }))
    await expectRefreshRefused(f, refresh({ sid: undefined }))
    await expectRefreshRefused(f, refresh({}, { crit: ['x-unknown'], 'x-unknown': true }))
  })

  it('refuses duplicated JSON member names in the header or the payload', async () => {
    const claims = accessClaims()
    const body = JSON.stringify(claims).slice(1)
    const header = JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: accessKid })
    // The control: the same text without the duplicate is accepted.
    await expectAccessAccepted(f, signRaw(ACCESS_SECRET, header, `{${body}`))
    await expectAccessRefused(f, signRaw(ACCESS_SECRET, header, `{"sub":"${randomUUID()}",${body}`))
    await expectAccessRefused(f, signRaw(ACCESS_SECRET, header, `{"s\\u0075b":"x",${body}`))
    await expectAccessRefused(f, signRaw(ACCESS_SECRET, `{"alg":"none",${header.slice(1)}`, `{${body}`))
    const rHeader = JSON.stringify({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid })
    const rBody = JSON.stringify(refreshClaims()).slice(1)
    await expectRefreshRefused(f, signRaw(REFRESH_SECRET, rHeader, `{"sid":"${randomUUID()}",${rBody}`))
  })

  it('refuses a validly signed 10 KB token', async () => {
    await expectAccessRefused(f, access({ pad: 'p'.repeat(10_240) }))
    await expectRefreshRefused(f, refresh({ pad: 'p'.repeat(10_240) }))
  })

  it("refuses tokens signed with the other kind's secret", async () => {
    const swappedAccess = signRaw(
      REFRESH_SECRET,
      JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: accessKid }),
      JSON.stringify(accessClaims()),
    )
    await expectAccessRefused(f, swappedAccess)
    const swappedRefresh = signRaw(
      ACCESS_SECRET,
      JSON.stringify({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKid }),
      JSON.stringify(refreshClaims()),
    )
    await expectRefreshRefused(f, swappedRefresh)
  })
})

describe('RS256 server: the classic PEM key confusion', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await startFixture({ algorithm: 'RS256' })
  })
  afterAll(async () => {
    await closeFixture(f)
  })

  it('refuses HS256 signed with the PEM or JWK of our RSA public key', async () => {
    await expectAccessAccepted(f, f.user.accessToken)
    const jwks = (await (await fetch(`${f.server.url}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, string>[]
    }
    const { createPublicKey } = await import('node:crypto')
    const key = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' })
    const secrets = [
      key.export({ type: 'spki', format: 'pem' }).toString(),
      key.export({ type: 'pkcs1', format: 'pem' }).toString(),
      key.export({ type: 'spki', format: 'der' }),
      JSON.stringify(jwks.keys[0]),
    ]
    const { kid } = decodeProtectedHeader(f.user.accessToken)
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid })
    const payload = f.user.accessToken.split('.')[1]
    for (const secret of secrets) {
      await expectAccessRefused(f, `${header}.${payload}.${hmac(secret, `${header}.${payload}`)}`)
    }
  })
})
