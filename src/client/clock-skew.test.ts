import { describe, expect, it } from 'vitest'
import { ClockSkew } from './clock-skew.js'

describe('ClockSkew', () => {
  it('is zero and unbounded before any answer', () => {
    const skew = new ClockSkew()
    expect(skew.getOffset()).toBe(0)
    expect(skew.getUncertainty()).toBe(Number.POSITIVE_INFINITY)
  })

  it('narrows the offset by intersecting the bounds of several Date headers', () => {
    const skew = new ClockSkew()
    // The server runs 90.3 s ahead; round trips of 40 ms at different sub-second phases.
    const offset = 90_300
    for (const sentAt of [1_000_000, 1_000_250, 1_000_520, 1_000_780]) {
      const serverAt = sentAt + 20 + offset
      const header = new Date(Math.floor(serverAt / 1000) * 1000).toUTCString()
      skew.observeDateHeader(sentAt, sentAt + 40, header)
    }
    expect(Math.abs(skew.getOffset() - offset)).toBeLessThanOrEqual(300)
    expect(skew.getUncertainty()).toBeLessThan(500)
  })

  it('starts over from the latest answer when the bounds no longer meet (a clock jumped)', () => {
    const skew = new ClockSkew()
    skew.observe(0, 10, 5_000, 5_999)
    skew.observe(100, 110, 3_600_100, 3_600_999)
    expect(Math.abs(skew.getOffset() - 3_600_450)).toBeLessThan(500)
  })

  it('ignores answers that make no sense', () => {
    const skew = new ClockSkew()
    skew.observeDateHeader(0, 10, 'not a date')
    skew.observeDateHeader(0, 10, null)
    skew.observe(10, 0, 0, 1)
    skew.observe(0, 10, Number.NaN, 1)
    expect(skew.getOffset()).toBe(0)
  })
})
