import { afterEach, describe, expect, it, vi } from 'vitest'
import { RateLimitError } from '../errors.js'
import { resolveRateLimits } from './rate-limit-settings.js'
import { RateLimits } from './rate-limits.js'

const silent = { info() {}, warn() {}, error() {} }

async function failures(limits: RateLimits, count: number): Promise<number> {
  let refused = 0
  for (let i = 0; i < count; i++) {
    try {
      await limits.beginLoginAttempt('ada', '10.0.0.1')
    } catch (error) {
      if (!(error instanceof RateLimitError)) throw error
      refused++
    }
  }
  return refused
}

/** Limiters with only the pair limit, 3 failures a minute, on a fake clock. */
function threeAMinute(): Promise<RateLimits> {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
  return RateLimits.create(resolveRateLimits({ loginPair: '3/1m', loginName: 'off', loginIp: 'off' }), silent)
}

describe('giving points back', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('stores no credit when the window that took the point has ended', async () => {
    const limits = await threeAMinute()
    // A slow attempt: it takes its point, the window ends, then it ends in a server fault.
    const slow = await limits.beginLoginAttempt('ada', '10.0.0.1')
    vi.advanceTimersByTime(61_000)
    await slow.cancel()
    // The next window holds 3 failures, not 4.
    expect(await failures(limits, 4)).toBe(1)
    await limits.close()
  })

  it('gives a point back within the window', async () => {
    const limits = await threeAMinute()
    const faulted = await limits.beginLoginAttempt('ada', '10.0.0.1')
    await faulted.cancel()
    expect(await failures(limits, 4)).toBe(1)
    await limits.close()
  })
})
