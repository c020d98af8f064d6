import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accessClaims, nowSeconds } from '../../test/helpers/access-claims.js'
import { MAX_TIMER_MS } from '../common/duration.js'
import { AuthError, ConfigError } from '../errors.js'
import { createVerifier, type VerifierAlgorithm, type VerifierOptions } from './verifier.js'

/*
 * The JWKS-only verifier against a JWK Set served on loopback: every check of the reader, the
 * header, the signature and the claims, with the keys jose's createRemoteJWKSet fetched.
 */

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = nowSeconds

const pairs = {
  EdDSA: generateKeyPairSync('ed25519'),
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
}
const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
const kidOf = { EdDSA: 'ed', ES256: 'es', RS256: 'rs' } as const
const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const

function signInput(
  alg: VerifierAlgorithm,
  input: string,
  key: KeyObject,
  dsaEncoding: 'der' | 'ieee-p1363' = 'ieee-p1363',
) {
  const data = Buffer.from(input)
  const signature =
    alg === 'EdDSA'
      ? sign(null, data, key)
      : sign('sha256', data, alg === 'ES256' ? { key, dsaEncoding } : key)
  return signature.toString('base64url')
}

const claims = accessClaims

/** A token of `alg` signed by the served key, with `header` and `payload` over the sound ones. */
function token(
  alg: VerifierAlgorithm,
  header: Record<string, unknown> = {},
  payload: Record<string, unknown> = claims(),
  key: KeyObject = pairs[alg].privateKey,
): string {
  const input = `${b64({ alg, typ: 'at+jwt', kid: kidOf[alg], ...header })}.${b64(payload)}`
  return `${input}.${signInput(alg, input, key)}`
}

describe('createVerifier: verification', () => {
  let server: Server
  let jwksUrl: string
  beforeAll(async () => {
    const jwk = (key: KeyObject, kid: string, alg: string) => ({
      ...key.export({ format: 'jwk' }),
      kid,
      alg,
      use: 'sig',
    })
    const set = {
      keys: [
        ...ALGORITHMS.map((alg) => jwk(pairs[alg].publicKey, kidOf[alg], alg)),
        jwk(weak.publicKey, 'weak', 'RS256'),
      ],
    }
    server = createServer((_req, res) => res.end(JSON.stringify(set)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const make = (options: Partial<VerifierOptions> = {}) =>
    createVerifier({
      jwksUrl,
      issuer: 'tokenpair',
      audience: 'tokenpair',
      algorithms: ALGORITHMS,
      ...options,
    })
  const verdict = (verifier: ReturnType<typeof make>, t: string) =>
    verifier.verify(t).then(
      () => 'ok',
      (error: unknown) => (error instanceof AuthError ? error.code : `thrown: ${String(error)}`),
    )

  it.each(ALGORITHMS)('%s: accepts a sound token (the control) and returns its claims', async (alg) => {
    const payload = claims()
    await expect(make({ algorithms: [alg] }).verify(token(alg, {}, payload))).resolves.toEqual(payload)
  })

  it.each(ALGORITHMS)('%s: refuses a typ other than at+jwt', async (alg) => {
    const verifier = make()
    for (const typ of ['rt+jwt', 'JWT', 'dpop+jwt', undefined]) {
      expect(await verdict(verifier, token(alg, { typ })), String(typ)).toBe('invalid_token')
    }
    expect(await verdict(verifier, token(alg, { typ: 'application/AT+JWT' }))).toBe('ok')
  })

  it.each(ALGORITHMS)('%s: refuses crit, and an alg the configuration does not name', async (alg) => {
    expect(await verdict(make(), token(alg, { crit: ['exp'] }))).toBe('invalid_token')
    const others = ALGORITHMS.filter((a) => a !== alg)
    expect(await verdict(make({ algorithms: others }), token(alg))).toBe('invalid_token')
  })

  it('refuses alg none and a header that lies about the alg', async () => {
    const payload = b64(claims())
    const verifier = make()
    expect(await verdict(verifier, `${b64({ alg: 'none', typ: 'at+jwt', kid: 'ed' })}.${payload}.`)).toBe(
      'invalid_token',
    )
    expect(await verdict(verifier, `${b64({ alg: 'none', typ: 'at+jwt', kid: 'ed' })}.${payload}.e30`)).toBe(
      'invalid_token',
    )
    // An Ed25519 signature under an ES256 header naming the Ed25519 kid: jose finds no ES256 key.
    const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'ed' })}.${payload}`
    expect(await verdict(verifier, `${input}.${signInput('EdDSA', input, pairs.EdDSA.privateKey)}`)).toBe(
      'invalid_token',
    )
  })

  it('refuses an unknown kid, another key under a known kid, and an embedded jwk', async () => {
    const verifier = make({ cooldown: '30s' })
    expect(await verdict(verifier, token('EdDSA', { kid: 'nope' }))).toBe('invalid_token')
    const stranger = generateKeyPairSync('ed25519')
    expect(await verdict(verifier, token('EdDSA', {}, claims(), stranger.privateKey))).toBe('invalid_token')
    const jwk = stranger.publicKey.export({ format: 'jwk' })
    expect(await verdict(verifier, token('EdDSA', { jwk }, claims(), stranger.privateKey))).toBe(
      'invalid_token',
    )
  })

  it('refuses an ES256 signature in DER form and signatures of the wrong length', async () => {
    const verifier = make()
    const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'es' })}.${b64(claims())}`
    expect(await verdict(verifier, `${input}.${signInput('ES256', input, pairs.ES256.privateKey)}`)).toBe(
      'ok',
    )
    expect(
      await verdict(verifier, `${input}.${signInput('ES256', input, pairs.ES256.privateKey, 'der')}`),
    ).toBe('invalid_token')
    for (const alg of ALGORITHMS) {
      expect(await verdict(verifier, token(alg).slice(0, -3))).toBe('invalid_token')
      expect(await verdict(verifier, `${token(alg)}AA`)).toBe('invalid_token')
    }
  })

  it('refuses another issuer or audience, and takes an aud array holding ours', async () => {
    const verifier = make()
    expect(await verdict(verifier, token('EdDSA', {}, claims({ iss: 'someone-else' })))).toBe('invalid_token')
    expect(await verdict(verifier, token('EdDSA', {}, claims({ aud: 'another-api' })))).toBe('invalid_token')
    expect(await verdict(verifier, token('EdDSA', {}, claims({ aud: ['x', 'tokenpair'] })))).toBe('ok')
  })

  it('refuses missing or mistyped claims', async () => {
    const verifier = make()
    for (const over of [
      { sub: undefined },
      { sid: 1 },
      { jti: undefined },
      { roles: 'admin' },
      { username: null },
    ]) {
      expect(await verdict(verifier, token('RS256', {}, claims(over))), JSON.stringify(over)).toBe(
        'invalid_token',
      )
    }
  })

  it('checks exp, nbf and iat with its own clockTolerance', async () => {
    const strict = make()
    const lenient = make({ clockTolerance: '30s' })
    const cases: [Record<string, unknown>, string, string][] = [
      [{ exp: now() - 60 }, 'token_expired', 'token_expired'],
      [{ exp: now() - 10 }, 'token_expired', 'ok'],
      [{ exp: now() - 2 }, 'ok', 'ok'],
      [{ nbf: now() + 10 }, 'invalid_token', 'ok'],
      [{ iat: now() + 10 }, 'invalid_token', 'ok'],
      [{ iat: now() + 60 }, 'invalid_token', 'invalid_token'],
      [{ nbf: now() + 2, iat: now() + 2 }, 'ok', 'ok'],
    ]
    for (const [over, byStrict, byLenient] of cases) {
      const t = token('ES256', {}, claims(over))
      expect(await verdict(strict, t), JSON.stringify(over)).toBe(byStrict)
      expect(await verdict(lenient, t), JSON.stringify(over)).toBe(byLenient)
    }
  })

  it('refuses what the reader refuses', async () => {
    const verifier = make()
    const [h, p, s] = token('EdDSA').split('.') as [string, string, string]
    expect(await verdict(verifier, 'x'.repeat(10_000))).toBe('invalid_token')
    expect(await verdict(verifier, `${h}.${p}`)).toBe('invalid_token')
    expect(await verdict(verifier, `${h}.${p}.${s}=`)).toBe('invalid_token')
    expect(await verdict(verifier, token('EdDSA', {}, claims({ pad: 'p'.repeat(9000) })))).toBe(
      'invalid_token',
    )
    expect(await verdict(verifier, 42 as unknown as string)).toBe('invalid_token')
  })

  it('answers unavailable when the key set publishes an RSA key too weak for RS256', async () => {
    const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'weak' })}.${b64(claims())}`
    const t = `${input}.${sign('sha256', Buffer.from(input), weak.privateKey).toString('base64url')}`
    expect(await verdict(make(), t)).toBe('unavailable')
  })
})

describe('createVerifier: options', () => {
  const base = { issuer: 'tokenpair', audience: 'tokenpair' }
  const settingOf = (options: VerifierOptions) => {
    try {
      createVerifier(options)
      return 'ok'
    } catch (error) {
      return error instanceof ConfigError ? error.setting : `thrown: ${String(error)}`
    }
  }

  it('refuses http:// on a host that is not loopback, unless allowInsecureJwksUrl is true', () => {
    for (const url of [
      'http://auth.example.com/jwks.json',
      'http://10.0.0.5/jwks.json',
      'http://[::2]/jwks.json',
    ]) {
      expect(settingOf({ ...base, jwksUrl: url }), url).toBe('jwksUrl')
      expect(settingOf({ ...base, jwksUrl: url, allowInsecureJwksUrl: true }), url).toBe('ok')
    }
    for (const url of [
      'https://auth.example.com/jwks.json',
      'http://localhost:3000/jwks.json',
      'http://auth.localhost/jwks.json',
      'http://127.0.0.1:3000/jwks.json',
      'http://127.1.2.3/jwks.json',
      'http://[::1]:3000/jwks.json',
    ]) {
      expect(settingOf({ ...base, jwksUrl: url }), url).toBe('ok')
    }
    expect(settingOf({ ...base, jwksUrl: 'ftp://auth.example.com/jwks.json' })).toBe('jwksUrl')
  })

  it('reads its durations as every other setting (resolveDuration), naming the one at fault', () => {
    const jwksUrl = 'https://auth.example.com/jwks.json'
    expect(
      settingOf({ ...base, jwksUrl, clockTolerance: '10s', cooldown: 0, cacheMaxAge: '1h', timeout: 2000 }),
    ).toBe('ok')
    expect(settingOf({ ...base, jwksUrl, clockTolerance: 'soon' })).toBe('clockTolerance')
    expect(settingOf({ ...base, jwksUrl, cooldown: -1 })).toBe('cooldown')
    expect(settingOf({ ...base, jwksUrl, cacheMaxAge: '5 minutes' })).toBe('cacheMaxAge')
    expect(settingOf({ ...base, jwksUrl, timeout: 1.5 })).toBe('timeout')
    expect(settingOf({ ...base, jwksUrl, timeout: MAX_TIMER_MS + 1 })).toBe('timeout')
  })
})
