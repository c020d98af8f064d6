import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { isType, signCompactJWS, verifyHS256CompactJWS } from './compact-jws.js'

const claims = { sub: 'user', sid: 'session', jti: 'id', iat: 1_700_000_000, exp: 4_000_000_000 }

describe('signCompactJWS', () => {
  it.each([
    ['EdDSA', () => generateKeyPairSync('ed25519')],
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ] as const)('signs %s tokens that jose verifies', async (alg, makeKeys) => {
    const { privateKey, publicKey } = makeKeys()
    const token = signCompactJWS({ alg, typ: 'at+jwt', kid: 'k1' }, claims, privateKey)
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
      algorithms: [alg],
      typ: 'at+jwt',
    })
    expect(payload).toEqual(claims)
    expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: 'k1' })
  })

  it('signs HS256 tokens that jose verifies, and reads jose-made ones', async () => {
    const key = createSecretKey(Buffer.alloc(32, 1))
    const token = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt' }, claims, key)
    expect((await jwtVerify(token, key, { algorithms: ['HS256'] })).payload).toEqual(claims)
    const joseMade = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'rt+jwt' }).sign(key)
    expect(verifyHS256CompactJWS(joseMade, key)?.payload).toEqual(claims)
  })
})

describe('verifyHS256CompactJWS', () => {
  const key = createSecretKey(Buffer.alloc(32, 2))
  const other = createSecretKey(Buffer.alloc(32, 3))
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

  it('refuses another key, a tampered payload, a stripped signature and extra parts', () => {
    const token = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt' }, claims, key)
    const [h, p, s] = token.split('.')
    expect(verifyHS256CompactJWS(token, other)).toBeNull()
    expect(verifyHS256CompactJWS(`${h}.${b64({ ...claims, sub: 'admin' })}.${s}`, key)).toBeNull()
    expect(verifyHS256CompactJWS(`${h}.${p}.`, key)).toBeNull()
    expect(verifyHS256CompactJWS(`${h}.${p}.${s}.x`, key)).toBeNull()
  })

  it('refuses a header that is not HS256, one with crit, and a payload that is not an object', async () => {
    for (const header of [{ alg: 'none' }, { alg: 'HS512' }, { alg: 'HS256', crit: ['b64'], b64: false }]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader(header as { alg: string })
        .sign(createSecretKey(Buffer.alloc(64, 2)))
        .catch(() => `${b64(header)}.${b64(claims)}.`)
      expect(verifyHS256CompactJWS(token, key), JSON.stringify(header)).toBeNull()
    }
    const arrayPayload = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt' }, [1, 2], key)
    expect(verifyHS256CompactJWS(arrayPayload, key)).toBeNull()
  })

  it('compares typ as jose does', () => {
    expect(isType('rt+jwt', 'rt+jwt')).toBe(true)
    expect(isType('RT+JWT', 'rt+jwt')).toBe(true)
    expect(isType('application/rt+jwt', 'rt+jwt')).toBe(true)
    expect(isType('at+jwt', 'rt+jwt')).toBe(false)
    expect(isType(undefined, 'rt+jwt')).toBe(false)
  })
})
