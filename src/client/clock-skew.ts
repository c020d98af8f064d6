/**
 * Estimates how far the server's clock is from ours, so that "refresh shortly before
 * `accessTokenExpiresAt`" means the server's moment and not a time that a wrong local clock makes
 * up. Each answer bounds the offset: the server read its clock at some moment between our send and
 * our receipt, and `Date` truncates that reading to the second. Intersecting the bounds of many
 * answers narrows the estimate; bounds that no longer meet mean a clock jumped, and the latest
 * answer wins.
 */
export class ClockSkew {
  #low = Number.NEGATIVE_INFINITY
  #high = Number.POSITIVE_INFINITY

  /**
   * Records one answer: the server's clock read some value in `[serverLow, serverHigh]` at a
   * moment between `sentAt` and `receivedAt` (both our clock, ms).
   */
  observe(sentAt: number, receivedAt: number, serverLow: number, serverHigh: number): void {
    if (![sentAt, receivedAt, serverLow, serverHigh].every(Number.isFinite)) return
    if (receivedAt < sentAt || serverHigh < serverLow) return
    const low = serverLow - receivedAt
    const high = serverHigh - sentAt
    const nextLow = Math.max(this.#low, low)
    const nextHigh = Math.min(this.#high, high)
    if (nextLow <= nextHigh) {
      this.#low = nextLow
      this.#high = nextHigh
    } else {
      this.#low = low
      this.#high = high
    }
  }

  /** Records the `Date` header of an answer (one-second resolution). */
  observeDateHeader(sentAt: number, receivedAt: number, header: string | null): void {
    if (header === null) return
    const serverTime = Date.parse(header)
    if (Number.isNaN(serverTime)) return
    this.observe(sentAt, receivedAt, serverTime, serverTime + 999)
  }

  /** The best estimate of server clock minus ours, in ms; `0` before any answer. */
  getOffset(): number {
    if (!Number.isFinite(this.#low) || !Number.isFinite(this.#high)) return 0
    return Math.round((this.#low + this.#high) / 2)
  }

  /** How uncertain the estimate is (half the width of its bounds), in ms; `Infinity` before any answer. */
  getUncertainty(): number {
    return (this.#high - this.#low) / 2
  }
}
