import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import { errors as joseErrors, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Auth, createAuth } from '../auth.js'
import { verifyAccessToken } from './access-token.js'
import { KeyRing, UNKNOWN_KID_RELOAD_COOLDOWN_MS } from './keys.js'

const ACCESS_SECRET = 'hs256-fast-path-access-secret-0123456789abcdef'
const REFRESH_SECRET = 'hs256-fast-path-refresh-secret-0123456789abcdef'
const SECRET = 'access-token-test-secret-0123456789-abcdefghijklmnop'
const P1363 = 'ieee-p1363' as 'ieee-p1363' | 'der'

const b64 = (text: string) => Buffer.from(text).toString('base64url')

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

  const now = () => Math.floor(Date.now() / 1000)
  /** A correctly MAC'd token of any payload text, so that only the payload can be at fault. */
  const signText = (header: Record<string, unknown>, payload: string, secret = ACCESS_SECRET) => {
    const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: keys.current.kid, ...header }))}.${b64(payload)}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }
  const sign = (header: Record<string, unknown>, claims: Record<string, unknown>, secret = ACCESS_SECRET) =>
    signText(header, JSON.stringify(claims), secret)
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: 'tokenpair',
    aud: 'tokenpair',
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now(),
    exp: now() + 600,
    username: 'user',
    email: 'user@example.com',
    fullname: 'User',
    roles: ['user'],
    ...over,
  })

  async function joseVerdict(token: string): Promise<string> {
    try {
      await jwtVerify(token, keys.current.publicKey, {
        algorithms: ['HS256'],
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
  async function fastVerdict(token: string): Promise<string> {
    try {
      await verifyAccessToken(auth.options, keys, token)
      return 'ok'
    } catch (error) {
      return (error as { code: string }).code
    }
  }

  const cases: [string, () => string][] = [
    ['sound', () => sign({}, claims())],
    ['typ in capitals', () => sign({ typ: 'AT+JWT' }, claims())],
    ['typ with application/', () => sign({ typ: 'application/at+jwt' }, claims())],
    ['typ JWT', () => sign({ typ: 'JWT' }, claims())],
    ['no typ', () => sign({ typ: undefined }, claims())],
    ['alg HS512 header', () => sign({ alg: 'HS512' }, claims())],
    ['alg none', () => sign({ alg: 'none' }, claims())],
    ['crit extension', () => sign({ crit: ['x'], x: 1 }, claims())],
    ['other secret', () => sign({}, claims(), REFRESH_SECRET)],
    ['wrong iss', () => sign({}, claims({ iss: 'else' }))],
    ['iss as array', () => sign({}, claims({ iss: ['tokenpair'] }))],
    ['aud array holding ours', () => sign({}, claims({ aud: ['x', 'tokenpair'] }))],
    ['aud array without ours', () => sign({}, claims({ aud: ['x'] }))],
    ['no aud', () => sign({}, claims({ aud: undefined }))],
    ['expired', () => sign({}, claims({ iat: now() - 900, exp: now() - 60 }))],
    ['expired within leeway', () => sign({}, claims({ exp: now() - 2 }))],
    ['exp as string', () => sign({}, claims({ exp: String(now() + 600) }))],
    ['no exp', () => sign({}, claims({ exp: undefined }))],
    ['nbf ahead', () => sign({}, claims({ nbf: now() + 60 }))],
    ['nbf within leeway', () => sign({}, claims({ nbf: now() + 2 }))],
    ['nbf as string', () => sign({}, claims({ nbf: 'soon' }))],
    ['iat as string', () => sign({}, claims({ iat: 'now' }))],
    ['no sid', () => sign({}, claims({ sid: undefined }))],
    ['no jti', () => sign({}, claims({ jti: undefined }))],
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

  const now = () => Math.floor(Date.now() / 1000)
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
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: 'tokenpair',
    aud: 'tokenpair',
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    iat: now(),
    exp: now() + 600,
    username: 'user',
    email: 'user@example.com',
    fullname: 'User',
    roles: ['user'],
    ...over,
  })
  const otherAlg = alg === 'EdDSA' ? 'ES256' : 'EdDSA'
  const strangerKey = () =>
    (alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 })
    ).privateKey

  async function joseVerdict(token: string): Promise<string> {
    try {
      await jwtVerify(token, keys.current.publicKey, {
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
  async function ourVerdict(token: string): Promise<string> {
    try {
      await verifyAccessToken(auth.options, keys, token)
      return 'ok'
    } catch (error) {
      return (error as { code: string }).code
    }
  }

  const cases: [string, () => string][] = [
    ['sound', () => signClaims({}, claims())],
    ['typ in capitals', () => signClaims({ typ: 'AT+JWT' }, claims())],
    ['typ with application/', () => signClaims({ typ: 'application/at+jwt' }, claims())],
    ['typ JWT', () => signClaims({ typ: 'JWT' }, claims())],
    ['typ rt+jwt', () => signClaims({ typ: 'rt+jwt' }, claims())],
    ['typ dpop+jwt', () => signClaims({ typ: 'dpop+jwt' }, claims())],
    ['no typ', () => signClaims({ typ: undefined }, claims())],
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
    ['wrong iss', () => signClaims({}, claims({ iss: 'else' }))],
    ['aud array holding ours', () => signClaims({}, claims({ aud: ['x', 'tokenpair'] }))],
    ['aud array without ours', () => signClaims({}, claims({ aud: ['x'] }))],
    ['no aud', () => signClaims({}, claims({ aud: undefined }))],
    ['expired', () => signClaims({}, claims({ iat: now() - 900, exp: now() - 60 }))],
    ['expired within leeway', () => signClaims({}, claims({ exp: now() - 2 }))],
    ['exp as string', () => signClaims({}, claims({ exp: String(now() + 600) }))],
    ['no exp', () => signClaims({}, claims({ exp: undefined }))],
    ['nbf ahead', () => signClaims({}, claims({ nbf: now() + 60 }))],
    ['nbf within leeway', () => signClaims({}, claims({ nbf: now() + 2 }))],
    ['iat as string', () => signClaims({}, claims({ iat: 'now' }))],
    ['no sid', () => signClaims({}, claims({ sid: undefined }))],
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
