import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { errors as joseErrors, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { accessClaims, nowSeconds } from '../../test/helpers/access-claims.js'
import { type Auth, createAuth } from '../auth.js'
import type { AccessTokenAlgorithm } from '../common/algorithms.js'
import { verifyAccessToken } from './access-token.js'
import { KeyRing, UNKNOWN_KID_RELOAD_COOLDOWN_MS } from './keys.js'

const ACCESS_SECRET = 'hs256-fast-path-access-secret-0123456789abcdef'
const REFRESH_SECRET = 'hs256-fast-path-refresh-secret-0123456789abcdef'
const SECRET = 'access-token-test-secret-0123456789-abcdefghijklmnop'
const P1363 = 'ieee-p1363' as 'ieee-p1363' | 'der'

const b64 = (text: string) => Buffer.from(text).toString('base64url')

/** The sound token, and faults of the typ header alone. */
const HEADER_CASES: [string, Record<string, unknown>][] = [
  ['sound', {}],
  ['typ in capitals', { typ: 'AT+JWT' }],
  ['typ with application/', { typ: 'application/at+jwt' }],
  ['typ JWT', { typ: 'JWT' }],
  ['typ rt+jwt', { typ: 'rt+jwt' }],
  ['typ dpop+jwt', { typ: 'dpop+jwt' }],
  ['no typ', { typ: undefined }],
]

/** Faults of the claims alone, each in a token otherwise sound and correctly signed. */
const CLAIM_CASES: [string, () => Record<string, unknown>][] = [
  ['wrong iss', () => ({ iss: 'else' })],
  ['iss as array', () => ({ iss: ['tokenpair'] })],
  ['aud array holding ours', () => ({ aud: ['x', 'tokenpair'] })],
  ['aud array without ours', () => ({ aud: ['x'] })],
  ['no aud', () => ({ aud: undefined })],
  ['expired', () => ({ iat: nowSeconds() - 900, exp: nowSeconds() - 60 })],
  ['expired within leeway', () => ({ exp: nowSeconds() - 2 })],
  ['exp as string', () => ({ exp: String(nowSeconds() + 600) })],
  ['no exp', () => ({ exp: undefined })],
  ['nbf ahead', () => ({ nbf: nowSeconds() + 60 })],
  ['nbf within leeway', () => ({ nbf: nowSeconds() + 2 })],
  ['nbf as string', () => ({ nbf: 'soon' })],
  ['iat as string', () => ({ iat: 'now' })],
  ['no sid', () => ({ sid: undefined })],
  ['no jti', () => ({ jti: undefined })],
]

/** What jose's jwtVerify says of `token` under the options the server verifies with. */
async function joseVerdictOf(token: string, key: KeyObject, alg: AccessTokenAlgorithm): Promise<string> {
  try {
    await jwtVerify(token, key, {
      algorithms: [alg],
      typ: 'at+jwt',
      issuer: 'tokenpair',
      audience: 'tokenpair',
      clockTolerance: 5,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    })
    return 'ok'
  } catch (error) {
    return error instanceof joseErrors.JWTExpired ? 'token_expired' : 'invalid_token'
  }
}

/** What verifyAccessToken says of `token`: `ok` or the error code. */
async function verdictOf(auth: Auth, keys: KeyRing, token: string): Promise<string> {
  try {
    await verifyAccessToken(auth.options, keys, token)
    return 'ok'
  } catch (error) {
    return (error as { code: string }).code
  }
}

// Differential test: the direct node:crypto path must say yes or no, and expired or invalid,
// exactly where jose's jwtVerify with the same options does.
describe('HS256 direct verification agrees with jose', () => {
  let auth: Auth
  let keys: KeyRing
  beforeAll(async () => {
    auth = await createAuth({
      database: 'sqlite::memory:',
      algorithm: 'HS256',
      accessTokenSecret: ACCESS_SECRET,
      refreshTokenSecret: REFRESH_SECRET,
      rateLimit: false,
    })
    keys = new KeyRing(auth.options, auth.storage)
    await keys.load()
  })
  afterAll(async () => {
    await auth.close()
  })

  /** A correctly MAC'd token of any payload text, so that only the payload can be at fault. */
  const signText = (header: Record<string, unknown>, payload: string, secret = ACCESS_SECRET) => {
    const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: keys.current.kid, ...header }))}.${b64(payload)}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }
  const sign = (header: Record<string, unknown>, claims: Record<string, unknown>, secret = ACCESS_SECRET) =>
    signText(header, JSON.stringify(claims), secret)
  const claims = accessClaims

  const joseVerdict = (token: string) => joseVerdictOf(token, keys.current.publicKey, 'HS256')
  const fastVerdict = (token: string) => verdictOf(auth, keys, token)

  const cases: [string, () => string][] = [
    ...HEADER_CASES.map(([name, header]): [string, () => string] => [name, () => sign(header, claims())]),
    ['alg HS512 header', () => sign({ alg: 'HS512' }, claims())],
    ['alg none', () => sign({ alg: 'none' }, claims())],
    ['crit extension', () => sign({ crit: ['x'], x: 1 }, claims())],
    ['other secret', () => sign({}, claims(), REFRESH_SECRET)],
    ...CLAIM_CASES.map(([name, over]): [string, () => string] => [name, () => sign({}, claims(over()))]),
    ['payload an array', () => signText({}, '[1]')],
    ['payload not JSON', () => signText({}, 'not json')],
    ['truncated signature', () => sign({}, claims()).slice(0, -2)],
  ]

  it.each(cases)('%s', async (_name, make) => {
    const token = make()
    const expected = await joseVerdict(token)
    expect(await fastVerdict(token)).toBe(expected)
  })

  it('refuses an unknown kid as jose-path callers do', async () => {
    await expect(
      verifyAccessToken(auth.options, keys, sign({ kid: 'nope' }, claims())),
    ).rejects.toMatchObject({
      code: 'invalid_token',
    })
  })
})

// The same differential test for the asymmetric algorithms: node:crypto on the decoded parts
// must answer as jose's jwtVerify over WebCrypto with the same key and options.
describe.each(['EdDSA', 'ES256', 'RS256'] as const)('%s verification agrees with jose', (alg) => {
  let auth: Auth
  let keys: KeyRing
  beforeAll(async () => {
    auth = await createAuth({ database: 'sqlite::memory:', algorithm: alg, secret: SECRET, rateLimit: false })
    keys = new KeyRing(auth.options, auth.storage)
    await keys.load()
  })
  afterAll(async () => {
    await auth.close()
  })

  const now = nowSeconds
  /** Signs the raw input under `alg` with `key` (the current private key by default). */
  const signInput = (input: string, key: KeyObject = keys.current.privateKey!, dsaEncoding = P1363) =>
    (alg === 'EdDSA'
      ? sign(null, Buffer.from(input), key)
      : sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding } : key)
    ).toString('base64url')
  const signText = (header: Record<string, unknown>, payload: string, key?: KeyObject) => {
    const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', kid: keys.current.kid, ...header }))}.${b64(payload)}`
    return `${input}.${signInput(input, key)}`
  }
  const signClaims = (header: Record<string, unknown>, claims: Record<string, unknown>, key?: KeyObject) =>
    signText(header, JSON.stringify(claims), key)
  const claims = accessClaims
  const otherAlg = alg === 'EdDSA' ? 'ES256' : 'EdDSA'
  const strangerKey = () =>
    (alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 })
    ).privateKey

  const joseVerdict = (token: string) => joseVerdictOf(token, keys.current.publicKey, alg)
  const ourVerdict = (token: string) => verdictOf(auth, keys, token)

  const cases: [string, () => string][] = [
    ...HEADER_CASES.map(([name, header]): [string, () => string] => [
      name,
      () => signClaims(header, claims()),
    ]),
    [`alg ${otherAlg} header`, () => signClaims({ alg: otherAlg }, claims())],
    ['alg none, signed anyway', () => signClaims({ alg: 'none' }, claims())],
    [
      'alg HS256 keyed by our public JWK',
      () => {
        const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: keys.current.kid }))}.${b64(JSON.stringify(claims()))}`
        return `${input}.${createHmac('sha256', JSON.stringify(keys.current.publicJwk)).update(input).digest('base64url')}`
      },
    ],
    ['crit extension', () => signClaims({ crit: ['x'], x: 1 }, claims())],
    ['another key, our kid', () => signClaims({}, claims(), strangerKey())],
    ...CLAIM_CASES.map(([name, over]): [string, () => string] => [
      name,
      () => signClaims({}, claims(over())),
    ]),
    ['payload an array', () => signText({}, '[1]')],
    ['truncated signature', () => signClaims({}, claims()).slice(0, -2)],
    ['signature a byte longer', () => `${signClaims({}, claims())}AA`],
    ...(alg === 'ES256'
      ? ([
          [
            'signature in DER form',
            () => {
              const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', kid: keys.current.kid }))}.${b64(JSON.stringify(claims()))}`
              return `${input}.${signInput(input, keys.current.privateKey!, 'der')}`
            },
          ],
        ] as [string, () => string][])
      : []),
  ]

  it.each(cases)('%s', async (_name, make) => {
    const token = make()
    const expected = await joseVerdict(token)
    expect(await ourVerdict(token)).toBe(expected)
  })

  it('refuses a token of the access key with typ rt+jwt, and takes it with at+jwt (the control)', async () => {
    const sound = claims()
    expect(await ourVerdict(signClaims({}, sound))).toBe('ok')
    expect(await ourVerdict(signClaims({ typ: 'rt+jwt' }, sound))).toBe('invalid_token')
  })

  it('refuses crit even for an extension jose understands (b64)', async () => {
    expect(await joseVerdict(signClaims({ crit: ['b64'], b64: true }, claims()))).toBe('ok')
    expect(await ourVerdict(signClaims({ crit: ['b64'], b64: true }, claims()))).toBe('invalid_token')
  })

  it('refuses an iat ahead of the clock beyond the leeway, which jose does not check', async () => {
    expect(await ourVerdict(signClaims({}, claims({ iat: now() + 3 })))).toBe('ok')
    expect(await joseVerdict(signClaims({}, claims({ iat: now() + 60 })))).toBe('ok')
    expect(await ourVerdict(signClaims({}, claims({ iat: now() + 60 })))).toBe('invalid_token')
  })

  it('refuses a kid it does not know, and no kid; takes a key rotated in elsewhere', async () => {
    expect(await ourVerdict(signClaims({ kid: 'nope' }, claims()))).toBe('invalid_token')
    expect(await ourVerdict(signClaims({ kid: undefined }, claims()))).toBe('invalid_token')
    // Another instance rotates: this ring has never seen the new kid, and re-reads storage for it.
    const other = new KeyRing(auth.options, auth.storage)
    await auth.storage.insertKey(await other.createKeyRecord(Date.now()))
    await other.load()
    expect(keys.find(other.current.kid)).toBeUndefined()
    const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', kid: other.current.kid }))}.${b64(JSON.stringify(claims()))}`
    const token = `${input}.${signInput(input, other.current.privateKey!)}`
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      // Past the cool-down of reloads (a previous case may have reloaded for 'nope').
      vi.setSystemTime(Date.now() + UNKNOWN_KID_RELOAD_COOLDOWN_MS)
      expect(await ourVerdict(token)).toBe('ok')
    } finally {
      vi.useRealTimers()
    }
    expect(keys.find(other.current.kid)).toBeDefined()
  })
})
