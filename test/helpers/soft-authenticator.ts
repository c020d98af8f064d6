import { createHash, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto'

/*
 * A software WebAuthn authenticator for server-side tests: it makes the responses a browser would
 * (a `none` attestation with an ES256 key, assertions signed with it), so that the server's real
 * @simplewebauthn/server verification runs on them. Browser tests use Chromium's virtual
 * authenticator instead.
 */

type CBOR = number | string | Uint8Array | CBOR[] | Map<CBOR, CBOR> | { [key: string]: CBOR }

function head(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value])
  if (value < 256) return Buffer.from([(major << 5) | 24, value])
  if (value < 65536) return Buffer.from([(major << 5) | 25, value >> 8, value & 255])
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(value, 1)
  return b
}

/** Encodes the few CBOR types an attestation object needs (RFC 8949). */
export function encodeCBOR(value: CBOR): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCBOR)])
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value)
  return Buffer.concat([
    head(5, entries.length),
    ...entries.flatMap(([k, v]) => [encodeCBOR(k), encodeCBOR(v)]),
  ])
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url')

/** Options of a software authenticator's responses. */
export interface SoftOptions {
  /** The origin the "browser" reports in clientDataJSON. */
  origin: string
  /** Whether the user was verified (UV flag). Default `true`. */
  userVerified?: boolean
}

/** One credential of a software authenticator. */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(32)
  readonly #privateKey: KeyObject
  readonly #publicJwk: { x: string; y: string }
  counter = 0
  rpId = ''
  userHandle = ''

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.#privateKey = privateKey
    this.#publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string }
  }

  #flags(userVerified: boolean, attested: boolean): number {
    // UP, UV, BE and BS (a synced passkey), AT when a credential is attached.
    return 0x01 | (userVerified ? 0x04 : 0) | 0x08 | 0x10 | (attested ? 0x40 : 0)
  }

  #clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  /** The browser's answer to `navigator.credentials.create(options)`. */
  register(
    options: { challenge: string; rp: { id?: string }; user: { id: string } },
    soft: SoftOptions,
  ): Record<string, unknown> {
    this.rpId = options.rp.id ?? ''
    this.userHandle = options.user.id
    const cose = new Map<CBOR, CBOR>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(this.#publicJwk.x, 'base64url')],
      [-3, Buffer.from(this.#publicJwk.y, 'base64url')],
    ])
    const idLength = Buffer.from([this.credentialId.length >> 8, this.credentialId.length & 255])
    const authData = Buffer.concat([
      createHash('sha256').update(this.rpId).digest(),
      Buffer.from([this.#flags(soft.userVerified ?? true, true)]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      idLength,
      this.credentialId,
      encodeCBOR(cose),
    ])
    const attestationObject = encodeCBOR({ fmt: 'none', attStmt: {}, authData })
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.#clientData('webauthn.create', options.challenge, soft.origin)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /** The browser's answer to `navigator.credentials.get(options)`; the counter goes up by one. */
  assert(options: { challenge: string }, soft: SoftOptions): Record<string, unknown> {
    this.counter++
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    const authData = Buffer.concat([
      createHash('sha256').update(this.rpId).digest(),
      Buffer.from([this.#flags(soft.userVerified ?? true, false)]),
      counter,
    ])
    const clientData = this.#clientData('webauthn.get', options.challenge, soft.origin)
    const signature = createSign('sha256')
      .update(Buffer.concat([authData, createHash('sha256').update(clientData).digest()]))
      .sign(this.#privateKey)
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }
}
