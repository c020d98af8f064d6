import { describe, expect, it } from 'vitest'
import { parseDuration } from './duration.js'

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
