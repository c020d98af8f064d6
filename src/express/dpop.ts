import type { Request, Response } from 'express'
import { AuthError } from '../errors.js'
import type { DPoPNonces } from '../tokens/dpop-nonce.js'
import { type DPoPRequest, verifyDPoPProof } from '../tokens/dpop-proof.js'
import type { DPoPReplayStore } from '../tokens/dpop-replay.js'

/** What checking a request's DPoP proof needs. */
export interface DPoPCheck {
  /** The `dpop` setting (`DPOP`). */
  mode: 'off' | 'optional' | 'required'
  replay: DPoPReplayStore
  clockToleranceMs: number
  /** Server nonces that proofs must carry (logins and refreshes), or none. */
  nonces?: DPoPNonces | null
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

/**
 * The URL the client addressed (`htu`): scheme and host as Express reads them, so that behind a
 * proxy (`trust proxy`) they are the ones the client used (`X-Forwarded-Proto`, `X-Forwarded-Host`).
 */
export function requestTarget(req: Request): string {
  return `${req.protocol}://${req.host}${req.originalUrl}`
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
export async function readLoginBinding(
  req: Request,
  res: Response,
  check: DPoPCheck,
): Promise<{ jkt?: string }> {
  if (check.mode === 'off') return {}
  offerNonce(res, check)
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
  res: Response,
  check: DPoPCheck,
): Promise<{ jkt?: string; proofError?: AuthError }> {
  if (check.mode === 'off') return {}
  offerNonce(res, check)
  try {
    const proof = readDPoPHeader(req)
    return proof === null ? {} : await verifyRequestProof(req, proof, check)
  } catch (error) {
    if (error instanceof AuthError) return { proofError: error }
    throw error
  }
}

/** Hands out the current server nonce (`DPoP-Nonce`), for this answer and the client's next proof. */
function offerNonce(res: Response, check: DPoPCheck): void {
  if (check.nonces) res.setHeader('DPoP-Nonce', check.nonces.current())
}

/** The DPoP settings of an engine, as the request helpers take them. */
export function dpopCheckOf(engine: {
  options: { dpop: DPoPCheck['mode']; clockToleranceMs: number }
  dpopReplay: DPoPReplayStore
  dpopNonces: DPoPNonces | null
}): DPoPCheck {
  return {
    mode: engine.options.dpop,
    replay: engine.dpopReplay,
    clockToleranceMs: engine.options.clockToleranceMs,
    nonces: engine.dpopNonces,
  }
}
