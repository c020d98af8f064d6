import { createHmac, timingSafeEqual } from 'node:crypto'

/** How long one nonce is handed out; the one before it is still accepted, so each lives up to twice this. */
export const DPOP_NONCE_WINDOW_MS = 5 * 60_000

/**
 * Server-provided DPoP nonces (RFC 9449 §8), without storage: a nonce is the number of the current
 * time window and an HMAC of it, so every instance that shares the key makes and accepts the same
 * ones. A proof must carry the current window's nonce or the one before; otherwise the server
 * answers `use_dpop_nonce` with the current one in `DPoP-Nonce`. This limits a proof made ahead
 * of time (by script that ran in the page once) to the window it was made in.
 */
export class DPoPNonces {
  readonly #key: Buffer
  readonly #windowMs: number

  constructor(key: Buffer, options: { windowMs?: number } = {}) {
    this.#key = key
    this.#windowMs = options.windowMs ?? DPOP_NONCE_WINDOW_MS
  }

  /** The nonce to hand out at `now`. */
  current(now: number = Date.now()): string {
    return this.#nonceOf(Math.floor(now / this.#windowMs))
  }

  /** Whether `value` is the nonce of the current window or of the one before. */
  accepts(value: unknown, now: number = Date.now()): boolean {
    if (typeof value !== 'string' || value.length > 64) return false
    const window = Math.floor(now / this.#windowMs)
    return [window, window - 1].some((w) => {
      const expected = Buffer.from(this.#nonceOf(w))
      const given = Buffer.from(value)
      // Constant-time, so that the time taken says nothing about how much of a guess was right.
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
  }

  #nonceOf(window: number): string {
    const mac = createHmac('sha256', this.#key).update(`dpop-nonce:${window}`).digest('base64url')
    return `${window.toString(36)}.${mac.slice(0, 22)}`
  }
}
