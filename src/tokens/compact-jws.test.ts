import { createSecretKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  createVerificationKey,
  signCompactJWS,
  type VerificationKey,
  verifyJWSSignature,
  verifyJWSSignatureAsync,
} from './compact-jws.js'
import { type DecodedJWS, readCompactJWS } from './jws-reader.js'
import { isType, verifyCompactJWS } from './jws-verify.js'

/** An HS256 check of a compact JWS with `key`: its decoded header and payload, or `null`. */
async function verifyHS256CompactJWS(token: string, key: KeyObject) {
  return verifyCompactJWS(token, {
    code: 'invalid_refresh_token',
    name: 'Token',
    algorithms: ['HS256'],
    typ: 'rt+jwt',
    findKey: () => createVerificationKey('HS256', key),
  }).catch(() => null)
}

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
    expect((await verifyHS256CompactJWS(joseMade, key))?.payload).toEqual(claims)
  })
})

describe('verifyHS256CompactJWS', () => {
  const key = createSecretKey(Buffer.alloc(32, 2))
  const other = createSecretKey(Buffer.alloc(32, 3))
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

  it('refuses another key, a tampered payload, a stripped signature and extra parts', async () => {
    const token = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt' }, claims, key)
    const [h, p, s] = token.split('.')
    expect(await verifyHS256CompactJWS(token, other)).toBeNull()
    expect(await verifyHS256CompactJWS(`${h}.${b64({ ...claims, sub: 'admin' })}.${s}`, key)).toBeNull()
    expect(await verifyHS256CompactJWS(`${h}.${p}.`, key)).toBeNull()
    expect(await verifyHS256CompactJWS(`${h}.${p}.${s}.x`, key)).toBeNull()
  })

  it('refuses a header that is not HS256, one with crit, and a payload that is not an object', async () => {
    // The right typ, so that only alg or crit can be at fault.
    for (const header of [
      { alg: 'none', typ: 'rt+jwt' },
      { alg: 'HS512', typ: 'rt+jwt' },
      { alg: 'HS256', typ: 'rt+jwt', crit: ['b64'], b64: false },
    ]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader(header as { alg: string })
        .sign(createSecretKey(Buffer.alloc(64, 2)))
        .catch(() => `${b64(header)}.${b64(claims)}.`)
      expect(await verifyHS256CompactJWS(token, key), JSON.stringify(header)).toBeNull()
    }
    const arrayPayload = signCompactJWS({ alg: 'HS256', typ: 'rt+jwt' }, [1, 2], key)
    expect(await verifyHS256CompactJWS(arrayPayload, key)).toBeNull()
  })

  it('compares typ as jose does', () => {
    expect(isType('rt+jwt', 'rt+jwt')).toBe(true)
    expect(isType('RT+JWT', 'rt+jwt')).toBe(true)
    expect(isType('application/rt+jwt', 'rt+jwt')).toBe(true)
    expect(isType('at+jwt', 'rt+jwt')).toBe(false)
    expect(isType(undefined, 'rt+jwt')).toBe(false)
  })
})

describe('verifyJWSSignature and verifyJWSSignatureAsync', () => {
  /** The verdict of both forms, which must agree: the thread-pool check refuses what the sync one does. */
  async function check(jws: DecodedJWS, key: VerificationKey): Promise<boolean> {
    const sync = verifyJWSSignature(jws, key)
    expect(await verifyJWSSignatureAsync(jws, key)).toBe(sync)
    return sync
  }

  const input = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0'
  const jwsOf = (signature: Buffer) => ({
    header: {},
    payload: {},
    signingInput: Buffer.from(input),
    signature,
  })
  const makePair = {
    EdDSA: () => generateKeyPairSync('ed25519'),
    ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  }
  const pairs = { EdDSA: makePair.EdDSA(), ES256: makePair.ES256(), RS256: makePair.RS256() }

  it.each(['HS256', 'EdDSA', 'ES256', 'RS256'] as const)(
    '%s: accepts its own signature; refuses another key, another input, a flipped bit, one byte more or less',
    async (alg) => {
      const pair = alg === 'HS256' ? null : pairs[alg]
      const secret = createSecretKey(Buffer.alloc(32, 5))
      const signing = pair ? pair.privateKey : secret
      const key = createVerificationKey(alg, pair ? pair.publicKey : secret)
      const token = signCompactJWS({ alg, typ: 'at+jwt' }, { sub: 'u' }, signing)
      const jws = readCompactJWS(token)!
      expect(await check(jws, key)).toBe(true)
      expect(jws.signature).toHaveLength(key.signatureLength)
      const stranger = alg === 'HS256' ? createSecretKey(Buffer.alloc(32, 6)) : makePair[alg]().publicKey
      expect(await check(jws, createVerificationKey(alg, stranger))).toBe(false)
      expect(await check({ ...jws, signingInput: Buffer.from(`${input}x`) }, key)).toBe(false)
      const flipped = Buffer.from(jws.signature)
      flipped[5]! ^= 1
      expect(await check({ ...jws, signature: flipped }, key)).toBe(false)
      expect(await check({ ...jws, signature: Buffer.concat([jws.signature, Buffer.alloc(1)]) }, key)).toBe(
        false,
      )
      expect(await check({ ...jws, signature: jws.signature.subarray(1) }, key)).toBe(false)
    },
  )

  it('refuses an ES256 signature in DER form, which OpenSSL would take by default', async () => {
    const { privateKey, publicKey } = pairs.ES256
    const der = sign('sha256', Buffer.from(input), privateKey)
    const p1363 = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
    const key = createVerificationKey('ES256', publicKey)
    expect(await check(jwsOf(p1363), key)).toBe(true)
    expect(der.length).not.toBe(64)
    expect(await check(jwsOf(der), key)).toBe(false)
    // The same DER signature cut or padded to 64 bytes is no signature either.
    const sized = Buffer.concat([der, Buffer.alloc(64)]).subarray(0, 64)
    expect(await check(jwsOf(sized), key)).toBe(false)
  })

  it('refuses an HS256 MAC of another length without throwing', async () => {
    const secret = createSecretKey(Buffer.alloc(32, 5))
    const key = createVerificationKey('HS256', secret)
    const jws = readCompactJWS(signCompactJWS({ alg: 'HS256', typ: 'at+jwt' }, { sub: 'u' }, secret))!
    expect(() => verifyJWSSignature({ ...jws, signature: jws.signature.subarray(0, 16) }, key)).not.toThrow()
    expect(await check({ ...jws, signature: jws.signature.subarray(0, 16) }, key)).toBe(false)
  })
})

describe('createVerificationKey', () => {
  it('takes only a key that fits its algorithm, and RSA of 2048 bits or more', () => {
    const ed = generateKeyPairSync('ed25519')
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const secret = createSecretKey(Buffer.alloc(32, 1))
    expect(createVerificationKey('EdDSA', ed.publicKey).signatureLength).toBe(64)
    expect(createVerificationKey('ES256', ec.publicKey).signatureLength).toBe(64)
    expect(createVerificationKey('HS256', secret).signatureLength).toBe(32)
    expect(
      createVerificationKey('RS256', generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey),
    ).toMatchObject({ signatureLength: 384 })
    expect(() =>
      createVerificationKey('RS256', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey),
    ).toThrow(/2048/)
    expect(() => createVerificationKey('EdDSA', ec.publicKey)).toThrow(TypeError)
    expect(() => createVerificationKey('ES256', ed.publicKey)).toThrow(TypeError)
    expect(() =>
      createVerificationKey('ES256', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
    ).toThrow(TypeError)
    expect(() => createVerificationKey('RS256', ed.publicKey)).toThrow(TypeError)
    expect(() => createVerificationKey('EdDSA', ed.privateKey)).toThrow(TypeError)
    expect(() => createVerificationKey('HS256', ed.publicKey)).toThrow(TypeError)
    expect(() => createVerificationKey('EdDSA', secret)).toThrow(TypeError)
  })
})
