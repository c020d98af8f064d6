import { createHash, randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SecurityEvent } from '../../src/events/events.js'
import { createVerifier } from '../../src/verify/index.js'
import { newUser, request } from '../helpers/http.js'
import { REDIS_URL, requireRedis } from '../helpers/redis.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/** A client's key pair, as a DPoP client holds it. */
interface ClientKey {
  privateKey: CryptoKey
  jwk: JWK
  jkt: string
  alg: 'ES256' | 'EdDSA'
}

async function makeKey(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk), alg }
}

interface ProofOptions {
  nonce?: string
  htm?: string
  iat?: number
  jti?: string
  ath?: string
  accessToken?: string
  header?: Record<string, unknown>
  key?: ClientKey
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A DPoP proof for `htu`, sound unless an option spoils it. */
async function proof(key: ClientKey, htu: string, options: ProofOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.htm ?? 'POST',
    htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  }
  if (options.accessToken) claims.ath = createHash('sha256').update(options.accessToken).digest('base64url')
  if (options.ath) claims.ath = options.ath
  if (options.nonce) claims.nonce = options.nonce
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...options.header })
    .sign((options.key ?? key).privateKey)
}

const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

let server: TestServer
const events: SecurityEvent[] = []
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
  server.auth.events.subscribe((e) => {
    events.push(e)
  })
})
afterAll(async () => {
  await server.close()
})

const url = (path: string) => `${server.url}${path}`

/** Registers in bearer mode, with a proof by `key` when given. */
async function register(key?: ClientKey) {
  const headers: Record<string, string> = { 'x-auth-mode': 'bearer' }
  if (key) headers.dpop = await proof(key, url('/auth/register'))
  const res = await request(url('/auth/register'), { body: newUser(), headers })
  expect(res.status).toBe(201)
  return res.body.data as {
    accessToken: string
    refreshToken: string
    tokenType: string
    user: { id: string }
  }
}

function refresh(refreshToken: string, dpop?: string) {
  const headers: Record<string, string> = { 'x-auth-mode': 'bearer' }
  if (dpop) headers.dpop = dpop
  return request(url('/auth/refresh'), { body: { refreshToken }, headers })
}

function me(authorization: string, dpop?: string) {
  const headers: Record<string, string> = { authorization }
  if (dpop) headers.dpop = dpop
  return request(url('/auth/me'), { headers })
}

describe('DPoP: binding a session at login', () => {
  it('binds the session to the proof key: tokenType DPoP, cnf.jkt in both tokens', async () => {
    const key = await makeKey()
    const data = await register(key)
    expect(data.tokenType).toBe('DPoP')
    expect(payloadOf(data.accessToken).cnf).toEqual({ jkt: key.jkt })
    expect(payloadOf(data.refreshToken).cnf).toEqual({ jkt: key.jkt })
  })

  it('shows bound: true in the session list for a bound session, false otherwise', async () => {
    const key = await makeKey()
    const bound = await register(key)
    const plain = await register()
    const listOf = async (authorization: string, dpop?: string) =>
      (await request(url('/auth/sessions'), { headers: dpop ? { authorization, dpop } : { authorization } }))
        .body.data as { bound: boolean }[]
    const mine = await listOf(
      `DPoP ${bound.accessToken}`,
      await proof(key, url('/auth/sessions'), { htm: 'GET', accessToken: bound.accessToken }),
    )
    expect(mine.map((s) => s.bound)).toEqual([true])
    expect((await listOf(`Bearer ${plain.accessToken}`)).map((s) => s.bound)).toEqual([false])
  })

  it('leaves a login without a proof unbound (DPOP=optional), as before', async () => {
    const data = await register()
    expect(data.tokenType).toBe('Bearer')
    expect(payloadOf(data.accessToken).cnf).toBeUndefined()
    expect((await me(`Bearer ${data.accessToken}`)).status).toBe(200)
  })

  it('binds at POST /auth/login too, with an EdDSA key', async () => {
    const key = await makeKey('EdDSA')
    const user = newUser()
    await request(url('/auth/register'), { body: user, headers: { 'x-auth-mode': 'bearer' } })
    const res = await request(url('/auth/login'), {
      body: { login: user.username, password: user.password },
      headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, url('/auth/login')) },
    })
    expect(res.status).toBe(200)
    expect(payloadOf(res.body.data.accessToken).cnf).toEqual({ jkt: key.jkt })
  })

  it('refuses a login with a broken proof, and creates no session', async () => {
    const key = await makeKey()
    const res = await request(url('/auth/register'), {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, url('/auth/login')) },
    })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_dpop_proof')
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/)
  })
})

describe('DPoP: refreshing a bound session', () => {
  let key: ClientKey
  let tokens: Awaited<ReturnType<typeof register>>
  beforeAll(async () => {
    key = await makeKey()
    tokens = await register(key)
  })

  /** Expects a refresh to be refused for its proof, and the token to still rotate with a sound one. */
  async function expectRefused(dpop: string | undefined) {
    const before = events.filter((e) => e.type === 'refresh_unbound').length
    const res = await refresh(tokens.refreshToken, dpop)
    expect([res.status, res.body.code]).toEqual([401, 'invalid_dpop_proof'])
    expect(events.filter((e) => e.type === 'refresh_unbound').length).toBe(before + 1)
  }

  it('refuses a refresh without a proof, and does not consume the token', async () => {
    await expectRefused(undefined)
  })

  it('refuses a proof by another key', async () => {
    await expectRefused(await proof(await makeKey(), url('/auth/refresh')))
  })

  it('refuses a proof for another URL (htu) or method (htm)', async () => {
    await expectRefused(await proof(key, url('/auth/login')))
    await expectRefused(await proof(key, 'https://elsewhere.example/auth/refresh'))
    await expectRefused(await proof(key, url('/auth/refresh'), { htm: 'GET' }))
  })

  it('refuses an old iat (past 60 s) and one in the future', async () => {
    const now = Math.floor(Date.now() / 1000)
    await expectRefused(await proof(key, url('/auth/refresh'), { iat: now - 90 }))
    await expectRefused(await proof(key, url('/auth/refresh'), { iat: now + 60 }))
  })

  it('refuses alg none, a private key in the header, and a signature by another key', async () => {
    const claims = {
      jti: randomUUID(),
      htm: 'POST',
      htu: url('/auth/refresh'),
      iat: Math.floor(Date.now() / 1000),
    }
    await expectRefused(`${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${b64(claims)}.`)
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const privateJwk = await exportJWK(privateKey)
    await expectRefused(
      await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: privateJwk })
        .sign(privateKey),
    )
    await expectRefused(await proof(key, url('/auth/refresh'), { key: await makeKey() }))
    await expectRefused(await proof(key, url('/auth/refresh'), { header: { typ: 'JWT' } }))
  })

  it('rotates with a sound proof, keeps the binding, and refuses the same proof twice', async () => {
    const sound = await proof(key, url('/auth/refresh'))
    const res = await refresh(tokens.refreshToken, sound)
    expect(res.status).toBe(200)
    expect(res.body.data.tokenType).toBe('DPoP')
    expect(payloadOf(res.body.data.refreshToken).cnf).toEqual({ jkt: key.jkt })
    // The same proof again, even with the new token: its jti was spent.
    const again = await refresh(res.body.data.refreshToken, sound)
    expect([again.status, again.body.code]).toEqual([401, 'invalid_dpop_proof'])
    tokens = res.body.data
  })

  it('counts a refusal in tokenpair_refresh_unbound_total', async () => {
    const unbound = async () => {
      const text = await (await fetch(url('/metrics'))).text()
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith('tokenpair_refresh_unbound_total '))
          ?.split(' ')[1],
      )
    }
    const before = await unbound()
    await expectRefused(undefined)
    expect(await unbound()).toBe(before + 1)
  })
})

describe('DPoP: bound access tokens on protected routes', () => {
  let key: ClientKey
  let tokens: Awaited<ReturnType<typeof register>>
  beforeAll(async () => {
    key = await makeKey()
    tokens = await register(key)
  })
  const meProof = (options: ProofOptions = {}) =>
    proof(key, url('/auth/me'), { htm: 'GET', accessToken: tokens.accessToken, ...options })

  it('accepts Authorization: DPoP with a proof for this token, on every request with a fresh proof', async () => {
    expect((await me(`DPoP ${tokens.accessToken}`, await meProof())).status).toBe(200)
    // The verified-token cache serves the token; the proof is still checked.
    expect((await me(`DPoP ${tokens.accessToken}`, await meProof())).status).toBe(200)
  })

  it('refuses the bound token as Bearer (invalid_token), and without a proof', async () => {
    const bearer = await me(`Bearer ${tokens.accessToken}`, await meProof())
    expect([bearer.status, bearer.body.code]).toEqual([401, 'invalid_token'])
    const bare = await me(`DPoP ${tokens.accessToken}`)
    expect([bare.status, bare.body.code]).toEqual([401, 'invalid_dpop_proof'])
  })

  it('refuses a wrong ath, a replayed proof and a proof by another key', async () => {
    const wrongAth = await me(`DPoP ${tokens.accessToken}`, await meProof({ ath: 'x'.repeat(43) }))
    expect(wrongAth.body.code).toBe('invalid_dpop_proof')
    const once = await meProof()
    expect((await me(`DPoP ${tokens.accessToken}`, once)).status).toBe(200)
    expect((await me(`DPoP ${tokens.accessToken}`, once)).body.code).toBe('invalid_dpop_proof')
    const other = await makeKey()
    const stranger = await proof(other, url('/auth/me'), { htm: 'GET', accessToken: tokens.accessToken })
    expect((await me(`DPoP ${tokens.accessToken}`, stranger)).body.code).toBe('invalid_dpop_proof')
  })

  it('refuses an unbound token sent as DPoP', async () => {
    const plain = await register()
    const res = await me(`DPoP ${plain.accessToken}`, await proof(key, url('/auth/me'), { htm: 'GET' }))
    expect([res.status, res.body.code]).toEqual([401, 'invalid_token'])
  })

  it('is enforced by createVerifier too, in a service with no database', async () => {
    const verifier = createVerifier({
      jwksUrl: url('/.well-known/jwks.json'),
      issuer: 'tokenpair',
      audience: 'tokenpair',
    })
    const app = express().get('/notes', verifier.requireAuth(), (req, res) => {
      res.json({ userId: req.auth!.userId })
    })
    const service = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s))
    })
    try {
      const notes = `http://127.0.0.1:${(service.address() as AddressInfo).port}/notes`
      const call = (authorization: string, dpop?: string) =>
        request(notes, { headers: dpop ? { authorization, dpop } : { authorization } })
      const sound = await proof(key, notes, { htm: 'GET', accessToken: tokens.accessToken })
      expect((await call(`DPoP ${tokens.accessToken}`, sound)).status).toBe(200)
      expect((await call(`DPoP ${tokens.accessToken}`, sound)).body.code).toBe('invalid_dpop_proof')
      expect((await call(`Bearer ${tokens.accessToken}`)).body.code).toBe('invalid_token')
    } finally {
      service.close()
    }
  })
})

const redisUp = await requireRedis('test/security/dpop.test.ts')

describe.runIf(redisUp)('DPoP: a service of several instances (createVerifier with redisUrl)', () => {
  it('refuses on one instance a proof that another instance accepted', async () => {
    const key = await makeKey()
    const tokens = await register(key)
    // Two instances of one service behind one URL: the proxy's, as X-Forwarded-* tell them.
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const verifier = createVerifier({
          jwksUrl: url('/.well-known/jwks.json'),
          issuer: 'tokenpair',
          audience: 'tokenpair',
          redisUrl: REDIS_URL,
        })
        const app = express().set('trust proxy', true)
        app.get('/notes', verifier.requireAuth(), (_req, res) => {
          res.json({ ok: true })
        })
        const served = await new Promise<Server>((resolve) => {
          const s = app.listen(0, '127.0.0.1', () => resolve(s))
        })
        return { verifier, served, url: `http://127.0.0.1:${(served.address() as AddressInfo).port}/notes` }
      }),
    )
    try {
      const publicUrl = `https://notes-${randomUUID()}.example/notes`
      const sound = await proof(key, publicUrl, { htm: 'GET', accessToken: tokens.accessToken })
      const headers = {
        authorization: `DPoP ${tokens.accessToken}`,
        dpop: sound,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': new URL(publicUrl).host,
      }
      expect((await request(instances[0]!.url, { headers })).status).toBe(200)
      const replayed = await request(instances[1]!.url, { headers })
      expect([replayed.status, replayed.body.code]).toEqual([401, 'invalid_dpop_proof'])
    } finally {
      for (const instance of instances) {
        instance.verifier.close()
        instance.served.close()
      }
    }
  })
})

describe('DPoP settings', () => {
  it('DPOP=required refuses a login and a refresh without a proof', async () => {
    const strict = await startTestServer({ rateLimit: false, dpop: 'required' })
    try {
      const res = await request(`${strict.url}/auth/register`, {
        body: newUser(),
        headers: { 'x-auth-mode': 'bearer' },
      })
      expect([res.status, res.body.code]).toEqual([401, 'invalid_dpop_proof'])
    } finally {
      await strict.close()
    }
  })

  it('DPOP_NONCE: a proof without the server nonce answers use_dpop_nonce with one; with it, it binds', async () => {
    const strict = await startTestServer({ rateLimit: false, dpopNonce: true })
    try {
      const key = await makeKey()
      const target = `${strict.url}/auth/register`
      const body = newUser()
      const first = await request(target, {
        body,
        headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, target) },
      })
      expect([first.status, first.body.code]).toEqual([401, 'use_dpop_nonce'])
      expect(first.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/)
      const nonce = first.headers.get('dpop-nonce')!
      expect(nonce).toMatch(/^[a-z0-9]+\.[A-Za-z0-9_-]{22}$/)
      const wrong = await request(target, {
        body,
        headers: {
          'x-auth-mode': 'bearer',
          dpop: await proof(key, target, { nonce: `${nonce}x` }),
        },
      })
      expect(wrong.body.code).toBe('use_dpop_nonce')
      const second = await request(target, {
        body,
        headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, target, { nonce }) },
      })
      expect(second.status).toBe(201)
      expect(payloadOf(second.body.data.accessToken).cnf).toEqual({ jkt: key.jkt })
    } finally {
      await strict.close()
    }
  })

  it('counts refreshes refused for their proof against the refresh limit', async () => {
    const limited = await startTestServer({ rateLimit: { refresh: '3/1m' } })
    try {
      const key = await makeKey()
      const target = `${limited.url}/auth/register`
      const res = await request(target, {
        body: newUser(),
        headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, target) },
      })
      const refreshToken = res.body.data.refreshToken as string
      const codes: string[] = []
      for (let i = 0; i < 4; i++) {
        const refused = await request(`${limited.url}/auth/refresh`, {
          body: { refreshToken },
          headers: { 'x-auth-mode': 'bearer' },
        })
        codes.push(String(refused.body.code))
      }
      expect(codes).toEqual([
        'invalid_dpop_proof',
        'invalid_dpop_proof',
        'invalid_dpop_proof',
        'rate_limited',
      ])
    } finally {
      await limited.close()
    }
  })

  it('DPOP=off ignores proofs: the session stays unbound', async () => {
    const open = await startTestServer({ rateLimit: false, dpop: 'off' })
    try {
      const key = await makeKey()
      const res = await request(`${open.url}/auth/register`, {
        body: newUser(),
        headers: { 'x-auth-mode': 'bearer', dpop: await proof(key, `${open.url}/auth/register`) },
      })
      expect(res.status).toBe(201)
      expect(res.body.data.tokenType).toBe('Bearer')
    } finally {
      await open.close()
    }
  })
})
