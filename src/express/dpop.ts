import type { Request } from 'express'
import { AuthError } from '../errors.js'
import { type DPoPRequest, verifyDPoPProof } from '../tokens/dpop-proof.js'
import type { DPoPReplayStore } from '../tokens/dpop-replay.js'

/** What checking a request's DPoP proof needs. */
export interface DPoPCheck {
  /** The `dpop` setting (`DPOP`). */
  mode: 'off' | 'optional' | 'required'
  replay: DPoPReplayStore
  clockToleranceMs: number
}

/**
 * The `DPoP` header: one proof, or `null` when there is none. Node joins repeated headers with a
 * comma, which a compact JWS never holds: two proofs are refused, not picked from.
 */
export function readDPoPHeader(req: Request): string | null {
  const header = req.headers.dpop
  if (header === undefined || header === '') return null
  if (typeof header !== 'string' || header.includes(',')) {
    throw new AuthError('invalid_dpop_proof', 'Send exactly one DPoP proof')
  }
  return header.trim()
}

/** The URL the client addressed (`htu`): scheme and `Host` as Express reads them (`trust proxy`). */
export function requestTarget(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl}`
}

/** Verifies the request's proof for `request` (this method and URL, and `ath` when given). */
export function verifyRequestProof(
  req: Request,
  proof: string,
  check: DPoPCheck,
  accessToken?: string,
): Promise<{ jkt: string }> {
  const request: DPoPRequest = { method: req.method, url: requestTarget(req) }
  if (accessToken !== undefined) request.accessToken = accessToken
  return verifyDPoPProof(proof, request, check)
}

/**
 * A login's binding: the key thumbprint of a valid proof (the session will be bound to it), or
 * none. A broken proof is refused (`invalid_dpop_proof`), and so is a login without one when
 * `dpop` is `required`; with `off` proofs are not looked at.
 */
export async function readLoginBinding(req: Request, check: DPoPCheck): Promise<{ jkt?: string }> {
  if (check.mode === 'off') return {}
  const proof = readDPoPHeader(req)
  if (proof === null) {
    if (check.mode === 'required') throw new AuthError('invalid_dpop_proof', 'A DPoP proof is required')
    return {}
  }
  return verifyRequestProof(req, proof, check)
}

/**
 * A refresh's proof, checked but not yet judged: the rotation decides once it has read the
 * token's binding, so that a failed proof is refused before the token is consumed.
 */
export async function readRefreshProof(
  req: Request,
  check: DPoPCheck,
): Promise<{ jkt?: string; proofError?: AuthError }> {
  if (check.mode === 'off') return {}
  try {
    const proof = readDPoPHeader(req)
    return proof === null ? {} : await verifyRequestProof(req, proof, check)
  } catch (error) {
    if (error instanceof AuthError) return { proofError: error }
    throw error
  }
}

/** The DPoP settings of an engine, as the request helpers take them. */
export function dpopCheckOf(engine: {
  options: { dpop: DPoPCheck['mode']; clockToleranceMs: number }
  dpopReplay: DPoPReplayStore
}): DPoPCheck {
  return {
    mode: engine.options.dpop,
    replay: engine.dpopReplay,
    clockToleranceMs: engine.options.clockToleranceMs,
  }
}
