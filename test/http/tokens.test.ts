import { createHmac, generateKeyPairSync } from 'node:crypto'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())

async function expectRefused(token: string, code = 'invalid_token') {
  const res = await request(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(401)
  expect(res.body.code).toBe(code)
}

describe('access tokens and JWKS', () => {
  it('carries the claims and header of docs/api.md', async () => {
    const user = await registerBearer(server.url)
    const header = decodeProtectedHeader(user.accessToken)
    expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) })
    const claims = decode(user.accessToken)
    expect(claims).toMatchObject({
      iss: 'tokenpair',
      aud: 'tokenpair',
      sub: user.id,
      sid: expect.any(String),
      jti: expect.any(String),
      username: user.username,
      email: user.email,
      fullname: user.fullname,
      roles: ['user'],
    })
    expect(claims.exp - claims.iat).toBe(900)
    expect(decodeProtectedHeader(user.refreshToken)).toMatchObject({ alg: 'HS256', typ: 'rt+jwt' })
    expect(Object.keys(decode(user.refreshToken)).sort()).toEqual(['exp', 'iat', 'jti', 'sid', 'sub'])
  })

  it('publishes public keys only, and an independent verifier accepts our tokens', async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`)
    expect(res.status).toBe(200)
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1)
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg: 'EdDSA', use: 'sig', kty: 'OKP' })
      expect(key).not.toHaveProperty('d')
    }
    const user = await registerBearer(server.url)
    const verified = await jwtVerify(
      user.accessToken,
      createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)),
      {
        issuer: 'tokenpair',
        audience: 'tokenpair',
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
      },
    )
    expect(verified.payload.sub).toBe(user.id)
    const viaRouter = await fetch(`${server.url}/auth/.well-known/jwks.json`)
    expect(await viaRouter.json()).toEqual(jwks)
  })

  it('refuses alg none, in any case', async () => {
    const user = await registerBearer(server.url)
    const [, payload] = user.accessToken.split('.')
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await expectRefused(`${b64({ alg, typ: 'at+jwt' })}.${payload}.`)
    }
  })

  it('refuses an HS256 token signed with our public key (key confusion)', async () => {
    const user = await registerBearer(server.url)
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; x: string }[]
    }
    const key = jwks.keys[0]!
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })
    const payload = user.accessToken.split('.')[1]
    for (const secret of [key.x, Buffer.from(key.x, 'base64url'), JSON.stringify(key)]) {
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
      await expectRefused(`${header}.${payload}.${signature}`)
    }
  })

  it('refuses a tampered payload and a stripped signature', async () => {
    const user = await registerBearer(server.url)
    const [header, payload, signature] = user.accessToken.split('.')
    const claims = decode(user.accessToken)
    await expectRefused(`${header}.${b64({ ...claims, roles: ['admin'] })}.${signature}`)
    await expectRefused(`${header}.${payload}.`)
    await expectRefused(`${header}.${payload}`)
  })

  it('refuses a token from a foreign key that claims our kid', async () => {
    const user = await registerBearer(server.url)
    const { kid } = decodeProtectedHeader(user.accessToken)
    const foreign = generateKeyPairSync('ed25519').privateKey
    const forged = await new SignJWT(decode(user.accessToken))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: kid! })
      .sign(foreign)
    await expectRefused(forged)
  })

  it('refuses a 10 KB garbage token and swapped token kinds', async () => {
    await expectRefused('x'.repeat(10_240))
    await expectRefused(`${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`)
    const user = await registerBearer(server.url)
    await expectRefused(user.refreshToken)
    const res = await request(`${server.url}/auth/refresh`, { body: { refreshToken: user.accessToken } })
    expect(res.body.code).toBe('invalid_refresh_token')
  })

  it('refuses a valid token sent without the Bearer scheme, or under another scheme', async () => {
    const user = await registerBearer(server.url)
    for (const authorization of [
      user.accessToken,
      `Token ${user.accessToken}`,
      `Basic ${user.accessToken}`,
    ]) {
      const res = await request(`${server.url}/auth/me`, { headers: { authorization } })
      expect([res.status, res.body.code], authorization.slice(0, 6)).toEqual([401, 'invalid_token'])
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
    const bearer = await request(`${server.url}/auth/me`, {
      headers: { authorization: `bearer ${user.accessToken}` },
    })
    expect(bearer.status).toBe(200)
  })

  it('refuses a token of our key with a wrong typ, issuer or audience', async () => {
    const other = await startTestServer({ rateLimit: false, issuer: 'someone-else' })
    try {
      const user = await registerBearer(other.url)
      await expectRefused(user.accessToken)
    } finally {
      await other.close()
    }
  })
})

describe('algorithms', () => {
  it.each(['ES256', 'RS256'] as const)('signs and publishes %s keys', async (algorithm) => {
    const s = await startTestServer({ rateLimit: false, algorithm })
    try {
      const user = await registerBearer(s.url)
      expect(decodeProtectedHeader(user.accessToken).alg).toBe(algorithm)
      const verified = await jwtVerify(
        user.accessToken,
        createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`)),
        {
          algorithms: [algorithm],
          issuer: 'tokenpair',
          audience: 'tokenpair',
        },
      )
      expect(verified.payload.sub).toBe(user.id)
      expect(
        (await request(`${s.url}/auth/me`, { headers: { authorization: `Bearer ${user.accessToken}` } }))
          .status,
      ).toBe(200)
    } finally {
      await s.close()
    }
  })

  it('signs HS256 with ACCESS_TOKEN_SECRET, publishes no keys, and refuses EdDSA tokens', async () => {
    const accessTokenSecret = 'access-secret-0123456789-0123456789-abcdef'
    const s = await startTestServer({
      algorithm: 'HS256',
      accessTokenSecret,
      refreshTokenSecret: `${accessTokenSecret}-refresh`,
    })
    try {
      const user = await registerBearer(s.url)
      expect(decodeProtectedHeader(user.accessToken).alg).toBe('HS256')
      const verified = await jwtVerify(user.accessToken, new TextEncoder().encode(accessTokenSecret), {
        algorithms: ['HS256'],
      })
      expect(verified.payload.sub).toBe(user.id)
      expect(await (await fetch(`${s.url}/.well-known/jwks.json`)).json()).toEqual({ keys: [] })
      const refreshed = await request(`${s.url}/auth/refresh`, { body: { refreshToken: user.refreshToken } })
      expect(refreshed.status).toBe(200)
      const edUser = await registerBearer(server.url)
      const res = await request(`${s.url}/auth/me`, {
        headers: { authorization: `Bearer ${edUser.accessToken}` },
      })
      expect(res.body.code).toBe('invalid_token')
    } finally {
      await s.close()
    }
  })
})
