import { describe, expect, it } from 'vitest'
import { DEFAULT_RATE_LIMITS, resolveRateLimits } from './rate-limit-settings.js'

describe('resolveRateLimits', () => {
  it('reads POINTS/DURATION, objects and off, and applies the defaults', () => {
    const limits = resolveRateLimits({
      loginPair: '5/15m',
      refresh: false,
      register: { points: 2, duration: 90_000 },
    })
    expect(limits.loginPair).toEqual({ points: 5, durationSeconds: 900 })
    expect(limits.refresh).toBeNull()
    expect(limits.register).toEqual({ points: 2, durationSeconds: 90 })
    expect(limits.loginIp).toEqual(resolveRateLimits({ loginIp: DEFAULT_RATE_LIMITS.loginIp }).loginIp)
    expect(resolveRateLimits({ loginName: 'off' }).loginName).toBeNull()
    expect(resolveRateLimits(false).loginPair).toBeNull()
  })

  it.each([
    [{ loginPair: 'abc' }, 'rateLimit.loginPair'],
    [{ loginPair: '0/1h' }, 'rateLimit.loginPair'],
    [{ loginPair: '10/abc' }, 'rateLimit.loginPair'],
    [{ loginPair: '10/500ms' }, 'rateLimit.loginPair'],
    [{ loginPair: '10/24d' }, 'rateLimit.loginPair'],
    [{ loginIp: { points: 1.5, duration: '1h' } }, 'rateLimit.loginIp'],
    [{ loginIp: { points: 3, duration: 'soon' } }, 'rateLimit.loginIp'],
    // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
    [{ register: 42 as any }, 'rateLimit.register'],
    [{ keyPrefix: 'with space' }, 'rateLimit.keyPrefix'],
    [{ redisUrl: 'http://x' }, 'rateLimit.redisUrl'],
  ])('refuses %j', (options, setting) => {
    expect(() => resolveRateLimits(options)).toThrow(
      expect.objectContaining({ name: 'ConfigError', setting }),
    )
  })
})
