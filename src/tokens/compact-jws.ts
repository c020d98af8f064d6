import { createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto'
import type { AccessTokenAlgorithm } from '../common/algorithms.js'
import type { DecodedJWS } from './jws-reader.js'

/*
 * Signing and signature checks straight on node:crypto, for every algorithm. jose reaches these
 * through WebCrypto, which costs more per token (bench/micro/verify.ts), and would decode the
 * token again: here the signature is checked on what readCompactJWS decoded.
 */

/** A key that checks the signatures of one algorithm, its fitness checked once when it is made. */
export interface VerificationKey {
  /** The one algorithm this key checks; a token's `alg` header must name it. */
  readonly alg: AccessTokenAlgorithm
  /** The public key, or the secret for HS256. */
  readonly publicKey: KeyObject
  /**
   * The length in bytes of every signature this key can have made: 32 (HS256), 64 (EdDSA, and
   * ES256 in the JOSE `r||s` form), the modulus length (RS256). Anything else is refused unread.
   */
  readonly signatureLength: number
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * Signs a compact JWS (a JWT) with `key` under `alg`: HS256 (a secret key), EdDSA (Ed25519),
 * ES256 (P-256, signature in the JOSE `r||s` form) or RS256. The caller chooses `alg` from its
 * configuration and puts it in `header`.
 *
 * @example
 * ```ts
 * const token = signCompactJWS({ alg: 'EdDSA', typ: 'at+jwt', kid }, claims, privateKey)
 * ```
 */
export function signCompactJWS(
  header: { alg: AccessTokenAlgorithm; typ: string; kid?: string },
  payload: object,
  key: KeyObject,
): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`
  let signature: Buffer
  switch (header.alg) {
    case 'HS256':
      signature = createHmac('sha256', key).update(input).digest()
      break
    case 'EdDSA':
      signature = sign(null, Buffer.from(input), key)
      break
    case 'ES256':
      signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      break
    case 'RS256':
      signature = sign('sha256', Buffer.from(input), key)
      break
  }
  return `${input}.${signature.toString('base64url')}`
}

/** Why `key` cannot check `alg` signatures, or `null` when it can. */
function unfitness(alg: AccessTokenAlgorithm, key: KeyObject): string | null {
  if (alg === 'HS256') return key.type === 'secret' ? null : 'HS256 needs a secret key'
  if (key.type !== 'public') return `${alg} needs a public key`
  const details = key.asymmetricKeyDetails
  switch (alg) {
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519' ? null : 'EdDSA needs an Ed25519 key'
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
        ? null
        : 'ES256 needs a P-256 key'
    case 'RS256':
      // jose's floor: RSA keys under 2048 bits are refused, for signing and for verifying.
      return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048
        ? null
        : 'RS256 needs an RSA key of at least 2048 bits'
  }
}

/**
 * A {@link VerificationKey} for `alg`. Throws a `TypeError` when `key` does not fit the algorithm:
 * a secret for HS256; a public Ed25519 key for EdDSA, P-256 for ES256, RSA of 2048 bits or more
 * for RS256.
 *
 * @example
 * ```ts
 * const key = createVerificationKey('EdDSA', createPublicKey({ key: jwk, format: 'jwk' }))
 * ```
 */
export function createVerificationKey(alg: AccessTokenAlgorithm, key: KeyObject): VerificationKey {
  const problem = unfitness(alg, key)
  if (problem !== null) throw new TypeError(problem)
  const signatureLength =
    alg === 'HS256' ? 32 : alg === 'RS256' ? Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8) : 64
  return { alg, publicKey: key, signatureLength }
}

/** The arguments of `crypto.verify` for an asymmetric `key`: digest and key input. */
function asymmetricInput(key: VerificationKey): {
  digest: string | null
  input: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
} {
  switch (key.alg) {
    case 'EdDSA':
      return { digest: null, input: key.publicKey }
    case 'ES256':
      // The JOSE form, r||s (RFC 7518 §3.4), not the DER that OpenSSL reads by default.
      return { digest: 'sha256', input: { key: key.publicKey, dsaEncoding: 'ieee-p1363' } }
    default:
      return { digest: 'sha256', input: key.publicKey }
  }
}

/**
 * Whether the signature of `jws` is one `key` made over its signing input, under `key.alg` (the
 * caller has checked that the token's `alg` header names it). A signature of another length is
 * refused before any crypto: an ES256 signature in DER form, a truncated or padded one.
 *
 * @example
 * ```ts
 * if (!verifyJWSSignature(jws, key)) throw new AuthError('invalid_token', 'Access token is invalid')
 * ```
 */
export function verifyJWSSignature(jws: DecodedJWS, key: VerificationKey): boolean {
  const { signingInput, signature } = jws
  // OpenSSL refuses these too for the asymmetric algorithms; timingSafeEqual would throw.
  if (signature.length !== key.signatureLength) return false
  if (key.alg === 'HS256') {
    // Constant-time comparison, so that the time taken says nothing about the expected MAC.
    return timingSafeEqual(createHmac('sha256', key.publicKey).update(signingInput).digest(), signature)
  }
  const { digest, input } = asymmetricInput(key)
  return verify(digest, signingInput, input, signature)
}

/**
 * {@link verifyJWSSignature} off the event loop: the asymmetric algorithms (EdDSA, ES256, RS256)
 * run on libuv's thread pool through `crypto.verify`'s callback form, with the same inputs and the
 * same refusals (length first, the JOSE `r||s` form for ES256); HS256, a hash of a few hundred
 * bytes, stays on the calling thread, where it costs less than the hop to the pool would.
 *
 * @example
 * ```ts
 * if (!(await verifyJWSSignatureAsync(jws, key))) throw new AuthError('invalid_token', 'Access token is invalid')
 * ```
 */
export function verifyJWSSignatureAsync(jws: DecodedJWS, key: VerificationKey): Promise<boolean> {
  if (key.alg === 'HS256' || jws.signature.length !== key.signatureLength) {
    return Promise.resolve(verifyJWSSignature(jws, key))
  }
  const { digest, input } = asymmetricInput(key)
  return new Promise((resolve) => {
    // An error (a key OpenSSL cannot use for this input) is a refusal, as the sync form's throw
    // would be a refusal of the caller.
    verify(digest, jws.signingInput, input, jws.signature, (error, valid) => resolve(error === null && valid))
  })
}
