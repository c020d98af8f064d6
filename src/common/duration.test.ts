import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { MAX_LIFETIME_MS, MAX_TIMER_MS, parseDuration, resolveDuration } from './duration.js'

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['25m', 1_500_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['0', 0],
    ['0s', 0],
    [' 15m ', 900_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', '15', '1.5h', '-5m', '5 m', '5y', 'm', '15mm', '1e3s', '99999999999s'])(
    'refuses %j',
    (text) => {
      expect(parseDuration(text)).toBeNull()
    },
  )
})

describe('resolveDuration', () => {
  it('reads text or milliseconds, and applies the fallback', () => {
    expect(resolveDuration('ttl', '90s', '15m')).toBe(90_000)
    expect(resolveDuration('ttl', 250, '15m')).toBe(250)
    expect(resolveDuration('ttl', undefined, '15m')).toBe(900_000)
    expect(resolveDuration('ttl', '0', '15m')).toBe(0)
    expect(resolveDuration('ttl', MAX_LIFETIME_MS, '15m')).toBe(MAX_LIFETIME_MS)
    expect(resolveDuration('ttl', '1s', '15m', { min: 1000, max: 1000 })).toBe(1000)
  })

  it.each([
    ['soon', {}],
    ['15', {}],
    [1.5, {}],
    [Number.NaN, {}],
    [Number.POSITIVE_INFINITY, {}],
    [-1, {}],
    [MAX_LIFETIME_MS + 1, {}],
    ['999ms', { min: 1000 }],
    ['25d', { max: MAX_TIMER_MS }],
    // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
    [{} as any, {}],
  ])('refuses %j within %j, naming the setting', (value, bounds) => {
    expect(() => resolveDuration('accessTokenTtl', value, '15m', bounds)).toThrow(ConfigError)
    expect(() => resolveDuration('accessTokenTtl', value, '15m', bounds)).toThrow(/^accessTokenTtl: /)
  })
})
