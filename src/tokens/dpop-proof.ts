import { createHash } from 'node:crypto'
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose'
import { AuthError } from '../errors.js'
import type { DPoPReplayStore } from './dpop-replay.js'

/** Algorithms a DPoP proof may use: a key pair the client holds, never a shared secret. */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA'] as const
/** How long after its `iat` a proof is accepted, in milliseconds (RFC 9449 §11.1). */
export const DPOP_PROOF_LIFETIME_MS = 60_000
/** The longest proof read: a header with a public JWK and a few claims fit in far less. */
export const MAX_DPOP_PROOF_LENGTH = 4096

/** Members of a JWK that hold private (or secret) key material. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** What the request that carried a proof says; the proof's claims must agree. */
export interface DPoPRequest {
  /** The HTTP method (`htm`). */
  method: string
  /** The request's URL as the client addressed it (`htu`, compared without query and fragment). */
  url: string
  /** The access token the proof accompanies: its hash must be the proof's `ath`. */
  accessToken?: string
}

/** Options of {@link verifyDPoPProof}. */
export interface DPoPProofOptions {
  replay: DPoPReplayStore
  /** Clock skew tolerated for an `iat` in the future. */
  clockToleranceMs: number
  now?: number
}

/** A proof that passed every check. */
export interface VerifiedDPoPProof {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the proof's public key: what a session is bound to. */
  jkt: string
}

function refuse(message: string, cause?: unknown): AuthError {
  return new AuthError('invalid_dpop_proof', message, cause === undefined ? undefined : { cause })
}

/**
 * The RFC 7638 thumbprint of a public JWK (SHA-256, base64url), which `cnf.jkt` carries: the one
 * place tokenpair computes it.
 *
 * @example
 * ```ts
 * const jkt = await computeJWKThumbprint(header.jwk)
 * ```
 */
export function computeJWKThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256')
}

/** `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2). */
export function hashAccessTokenForProof(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url')
}

/** `scheme://host[:port]/path` of a URL, normalised (case, default port), or `null`. */
function targetOf(url: string): string | null {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return null
  }
}

/**
 * Verifies a DPoP proof (RFC 9449 §4.3): jose checks the JWS (`typ: dpop+jwt`, an asymmetric
 * algorithm of {@link DPOP_ALGORITHMS}, the signature by the public key of the `jwk` header, which
 * must not be private); then `htm` and `htu` must name this request, `iat` be within
 * {@link DPOP_PROOF_LIFETIME_MS}, `ath` hash the access token it accompanies, and `jti` be new
 * (remembered in `replay` for the proof's lifetime). Throws `invalid_dpop_proof`.
 *
 * @example
 * ```ts
 * const { jkt } = await verifyDPoPProof(proof, { method: 'POST', url }, { replay, clockToleranceMs: 5000 })
 * ```
 */
export async function verifyDPoPProof(
  proof: string,
  request: DPoPRequest,
  options: DPoPProofOptions,
): Promise<VerifiedDPoPProof> {
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw refuse('DPoP proof is too long')
  let verified: Awaited<ReturnType<typeof jwtVerify>>
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: [...DPOP_ALGORITHMS],
    })
  } catch (error) {
    throw refuse('DPoP proof is malformed or its signature does not verify', error)
  }
  const { payload, protectedHeader } = verified
  const jwk = protectedHeader.jwk as JWK
  // jose refuses a private key too; said here as well, since a leaked key must never count.
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
    throw refuse('DPoP proof carries a private key')
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) {
    throw refuse('DPoP proof lacks a jti')
  }
  if (payload.htm !== request.method.toUpperCase()) throw refuse('DPoP proof is for another method')
  const target = targetOf(request.url)
  if (typeof payload.htu !== 'string' || target === null || targetOf(payload.htu) !== target) {
    throw refuse('DPoP proof is for another URL')
  }
  const now = options.now ?? Date.now()
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) throw refuse('DPoP proof lacks iat')
  const issuedAt = payload.iat * 1000
  if (issuedAt > now + options.clockToleranceMs) throw refuse('DPoP proof is issued in the future')
  if (now - issuedAt > DPOP_PROOF_LIFETIME_MS) throw refuse('DPoP proof is too old')
  if (request.accessToken !== undefined && payload.ath !== hashAccessTokenForProof(request.accessToken)) {
    throw refuse('DPoP proof is for another access token')
  }
  const jkt = await computeJWKThumbprint(jwk)
  // Last, so that only a proof that passed every check is spent.
  const ttlMs = issuedAt + DPOP_PROOF_LIFETIME_MS + options.clockToleranceMs - now
  if (!(await options.replay.claim(`${jkt}:${payload.jti}`, ttlMs))) {
    throw refuse('DPoP proof was used before')
  }
  return { jkt }
}
