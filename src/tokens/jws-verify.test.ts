import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AuthError } from '../errors.js'
import { createVerificationKey, type VerificationKey } from './compact-jws.js'
import { type JWSExpectations, verifyCompactJWS } from './jws-verify.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const claims = { sub: 'u', iat: 1, exp: 2 }
const ed = generateKeyPairSync('ed25519')
const edKey = createVerificationKey('EdDSA', ed.publicKey)
const secret = createSecretKey(Buffer.alloc(32, 3))
const hsKey = createVerificationKey('HS256', secret)

function expectations(
  over: Partial<JWSExpectations<VerificationKey>> = {},
): JWSExpectations<VerificationKey> {
  return {
    code: 'invalid_token',
    name: 'Access token',
    algorithms: ['EdDSA'],
    typ: 'at+jwt',
    findKey: (header) => (header.kid === 'k1' ? edKey : undefined),
    ...over,
  }
}

/** A token whose header is `header` exactly, signed with the Ed25519 key (or `key` under `alg`). */
function signed(header: Record<string, unknown>, key: KeyObject = ed.privateKey, alg = 'EdDSA') {
  const input = `${b64(header)}.${b64(claims)}`
  const signature =
    alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : sign(null, Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}

async function refusal(token: string, over: Partial<JWSExpectations<VerificationKey>> = {}) {
  try {
    await verifyCompactJWS(token, expectations(over))
    return 'accepted'
  } catch (error) {
    return error instanceof AuthError ? `${error.code}: ${error.message}` : `thrown: ${String(error)}`
  }
}

describe('verifyCompactJWS', () => {
  const good = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }

  it('accepts a sound token and returns its header, payload and key (the control)', async () => {
    const verified = await verifyCompactJWS(signed(good), expectations())
    expect(verified).toEqual({ header: good, payload: claims, key: edKey })
  })

  it('refuses what the reader refuses, with the kind of token in the message', async () => {
    expect(await refusal('x'.repeat(9000))).toBe('invalid_token: Access token is malformed')
    expect(await refusal(`${signed(good)}.x`, { code: 'invalid_refresh_token', name: 'Refresh token' })).toBe(
      'invalid_refresh_token: Refresh token is malformed',
    )
  })

  it('refuses an alg the configuration does not name, whatever the key', async () => {
    expect(await refusal(signed({ ...good, alg: 'HS256' }, secret, 'HS256'), { findKey: () => hsKey })).toBe(
      'invalid_token: Access token is invalid',
    )
    expect(await refusal(signed({ ...good, alg: 'ES256' }))).toBe('invalid_token: Access token is invalid')
    expect(await refusal(signed({ ...good, alg: undefined }))).toBe('invalid_token: Access token is invalid')
  })

  it('refuses alg none in any spelling, with or without a signature', async () => {
    const payload = b64(claims)
    for (const alg of ['none', 'None', 'NONE']) {
      for (const algorithms of [['EdDSA'], ['EdDSA', 'ES256', 'RS256', 'HS256']] as const) {
        // readCompactJWS refuses an empty signature; a present one must not pass either.
        expect(await refusal(`${b64({ ...good, alg })}.${payload}.`, { algorithms })).toMatch(/malformed/)
        expect(await refusal(`${b64({ ...good, alg })}.${payload}.e30`, { algorithms })).toMatch(/invalid$/)
      }
    }
  })

  it('refuses any crit, even with the member it names present', async () => {
    expect(await refusal(signed({ ...good, crit: ['exp'], exp: 1 }))).toBe(
      'invalid_token: Access token is invalid',
    )
    expect(await refusal(signed({ ...good, crit: [] }))).toBe('invalid_token: Access token is invalid')
    expect(await refusal(signed({ ...good, crit: null }))).toBe('invalid_token: Access token is invalid')
  })

  it('refuses another typ, compared as jose does', async () => {
    for (const typ of ['rt+jwt', 'JWT', 'at+jwt+x', 'application/at+jwt; x', 42, undefined]) {
      expect(await refusal(signed({ ...good, typ })), String(typ)).toBe(
        'invalid_token: Access token is invalid',
      )
    }
    for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      expect(await refusal(signed({ ...good, typ })), typ).toBe('accepted')
    }
    expect(await refusal(signed({ ...good, typ: 'dpop+jwt' }), { typ: 'dpop+jwt' })).toBe('accepted')
  })

  it('refuses a token whose key is not found, and a key made for another algorithm', async () => {
    expect(await refusal(signed({ ...good, kid: 'nope' }))).toBe(
      'invalid_token: Access token is signed by an unknown key',
    )
    // The configuration names both, the header says HS256, the key found is Ed25519: never mixed.
    expect(
      await refusal(signed({ ...good, alg: 'HS256' }, secret, 'HS256'), { algorithms: ['EdDSA', 'HS256'] }),
    ).toBe('invalid_token: Access token is invalid')
    // Nor an Ed25519 signature under a header that says HS256: the key's algorithm must be the header's.
    expect(await refusal(signed({ ...good, alg: 'HS256' }), { algorithms: ['EdDSA', 'HS256'] })).toBe(
      'invalid_token: Access token is invalid',
    )
  })

  it('refuses a signature by another key, and passes findKey errors through', async () => {
    const other = generateKeyPairSync('ed25519').privateKey
    expect(await refusal(signed(good, other))).toBe('invalid_token: Access token is invalid')
    const unavailable = new AuthError('unavailable', 'Cannot fetch the signing keys')
    expect(
      await refusal(signed(good), {
        findKey: async () => {
          throw unavailable
        },
      }),
    ).toBe('unavailable: Cannot fetch the signing keys')
  })
})
