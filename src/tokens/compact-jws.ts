import { createHmac, type KeyObject, sign, timingSafeEqual } from 'node:crypto'
import type { AccessTokenAlgorithm } from '../common/algorithms.js'

/*
 * Signing and HS256 checking straight on node:crypto. jose reaches these through WebCrypto, which
 * costs 3 to 25 times more per token (bench/micro/verify.ts and the note in docs/benchmarks.md);
 * a refresh signs two tokens and checks one. Verification of access tokens in the other
 * algorithms stays on jose, where WebCrypto's thread pool helps and nothing is gained.
 */

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * Signs a compact JWS (a JWT) with `key` under `alg`: HS256 (a secret key), EdDSA (Ed25519),
 * ES256 (P-256, signature in the JOSE `r||s` form) or RS256. The caller chooses `alg` from its
 * configuration and puts it in `header`.
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

function decodeJSONObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

/** A compact JWS whose HS256 signature matched, decoded; nothing else is checked yet. */
export interface HS256Verified {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

/** The JOSE header of a compact JWS, decoded, or `null` when it is not a JSON object. Nothing is verified. */
export function decodeJOSEHeader(token: string): Record<string, unknown> | null {
  const first = token.indexOf('.')
  return first < 1 ? null : decodeJSONObject(token.slice(0, first))
}

/**
 * Checks the HS256 signature of a compact JWS with `key` and decodes its header and payload.
 * `null` for anything else: a header that does not say HS256, any `crit` (no extension is
 * understood, RFC 7515 §4.1.11), a wrong MAC, or a part that is not a JSON object. A caller that
 * has decoded the header already (for its `kid`) passes it, so that it is not parsed twice. The
 * caller has already checked the size and the strict shape (canonical base64url, no duplicated names).
 */
export function verifyHS256CompactJWS(
  token: string,
  key: KeyObject,
  header: Record<string, unknown> | null = decodeJOSEHeader(token),
): HS256Verified | null {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 1 || second < 0 || token.indexOf('.', second + 1) !== -1) return null
  if (header === null || header.alg !== 'HS256' || header.crit !== undefined) return null
  const expected = createHmac('sha256', key).update(token.slice(0, second)).digest()
  const signature = Buffer.from(token.slice(second + 1), 'base64url')
  // Constant-time comparison, so that the time taken says nothing about the expected MAC.
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null
  const payload = decodeJSONObject(token.slice(first + 1, second))
  return payload === null ? null : { header, payload }
}

/** Whether a `typ` header names `expected` (`rt+jwt`), compared as jose does: case-insensitive, `application/` optional. */
export function isType(typ: unknown, expected: string): boolean {
  if (typeof typ !== 'string') return false
  const lower = typ.toLowerCase()
  return (lower.includes('/') ? lower : `application/${lower}`) === `application/${expected}`
}
