import { createHmac, randomUUID } from 'node:crypto'
import { errors as joseErrors, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../auth.js'
import { verifyHS256AccessJWT } from './hs256-verify.js'
import { KeyRing } from './keys.js'

const ACCESS_SECRET = 'hs256-fast-path-access-secret-0123456789abcdef'
const REFRESH_SECRET = 'hs256-fast-path-refresh-secret-0123456789abcdef'

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
      await verifyHS256AccessJWT(token, keys, auth.options)
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
      verifyHS256AccessJWT(sign({ kid: 'nope' }, claims()), keys, auth.options),
    ).rejects.toMatchObject({
      code: 'invalid_token',
    })
  })
})
