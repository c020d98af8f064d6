import { createProof, type DPoPKey, jwkThumbprint, loadDPoPKey, type ProofTarget } from './dpop-key.js'

/** What a proof is made for: the request's method and URL, and the access token it carries. */
export interface ProvedRequest {
  method: string
  url: string
  accessToken?: string
}

/** A request {@link DPoPProver.send} sends: `makeInput` gives it again for a retry. */
export interface RequestToProve {
  first: RequestInfo | URL
  makeInput: () => RequestInfo | URL
  init: RequestInit
  target: ProvedRequest
}

/**
 * Signs the client's DPoP proofs with its key (dpop-key.ts) and remembers, per origin, the
 * `DPoP-Nonce` each server last asked for (RFC 9449 §8), so that the next proof carries it.
 */
export class DPoPProver {
  readonly #key: Promise<DPoPKey>
  readonly #nonces = new Map<string, string>()

  constructor(name: string) {
    this.#key = loadDPoPKey(name)
    // Reported to the first request that needs a proof.
    this.#key.catch(() => {})
  }

  /** The thumbprint of the key (RFC 7638), which a navigation names instead of sending a proof. */
  async thumbprint(): Promise<string> {
    return jwkThumbprint((await this.#key).publicJwk)
  }

  /** Sets the `DPoP` header of `headers` to a fresh proof for `target`. */
  async addProof(headers: Headers, target: Omit<ProofTarget, 'nonce'>): Promise<void> {
    const nonce = this.#nonces.get(new URL(target.url).origin)
    const proof = await createProof(await this.#key, nonce === undefined ? target : { ...target, nonce })
    headers.set('dpop', proof)
  }

  /**
   * Sends `request` through `send` with a fresh proof, and once more with a new proof when the
   * server answers that it wants a nonce in it (`use_dpop_nonce`).
   */
  async send(
    send: (input: RequestInfo | URL, init: RequestInit) => Promise<Response>,
    request: RequestToProve,
    serverNow: () => number,
  ): Promise<Response> {
    const { target } = request
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(request.init.headers)
      const proofTarget = { method: target.method, url: target.url, now: serverNow() }
      await this.addProof(
        headers,
        target.accessToken === undefined ? proofTarget : { ...proofTarget, accessToken: target.accessToken },
      )
      const res = await send(attempt === 0 ? request.first : request.makeInput(), {
        ...request.init,
        headers,
      })
      if (attempt > 0 || !this.observe(target.url, res)) return res
    }
  }

  /**
   * Remembers the `DPoP-Nonce` of an answer from `url`; returns whether the answer refused the
   * request for want of it (`use_dpop_nonce`), so that it is worth sending once more.
   */
  observe(url: string, res: Response): boolean {
    const nonce = res.headers.get('dpop-nonce')
    if (nonce === null || nonce === '') return false
    this.#nonces.set(new URL(url).origin, nonce)
    return (
      (res.status === 400 || res.status === 401) &&
      /use_dpop_nonce/.test(res.headers.get('www-authenticate') ?? '')
    )
  }
}

/** Whether an access token names a DPoP key (`cnf.jkt`): read, not verified (the server verifies). */
export function isBoundAccessToken(token: string): boolean {
  try {
    const payload = token.split('.')[1] ?? ''
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
    const cnf = (JSON.parse(json) as { cnf?: { jkt?: unknown } }).cnf
    return typeof cnf?.jkt === 'string'
  } catch {
    return false
  }
}
