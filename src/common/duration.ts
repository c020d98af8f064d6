import { ConfigError } from '../errors.js'

/** A duration: milliseconds, or text such as `90s`, `25m`, `12h`, `7d`. */
export type Duration = number | string

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const DURATION = /^(\d{1,9})(ms|s|m|h|d|w)$/

/**
 * Parses a duration such as `90s`, `25m`, `12h` or `7d` into milliseconds. A bare `0` is zero.
 * Returns `null` for anything else, so that callers can name the setting in their error.
 *
 * @example
 * ```ts
 * parseDuration('15m') // 900000
 * ```
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim()
  if (trimmed === '0') return 0
  const match = DURATION.exec(trimmed)
  if (!match) return null
  return Number(match[1]) * UNIT_MS[match[2]!]!
}

/** Longest lifetime accepted: beyond it, dates leave what `Date` and cookies can hold. */
export const MAX_LIFETIME_MS = 10 * 365 * 86_400_000
/** Longest interval of a timer: Node turns a longer delay into 1 ms (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Bounds of a duration setting, in milliseconds. */
export interface DurationBounds {
  /** Smallest value accepted. Default `0`. */
  min?: number
  /** Largest value accepted. Default {@link MAX_LIFETIME_MS}. */
  max?: number
}

/**
 * Reads the duration setting `name`: `value` (milliseconds or text), else `fallback`, within
 * `bounds`. The one parser of every duration setting, so that each has the same spelling and the
 * same errors. Throws a {@link ConfigError} that names the setting.
 *
 * @example
 * ```ts
 * resolveDuration('accessTokenTtl', options.accessTokenTtl, '15m', { min: 1000 }) // 900000
 * ```
 */
export function resolveDuration(
  name: string,
  value: Duration | undefined,
  fallback: Duration,
  bounds: DurationBounds = {},
): number {
  const given = value ?? fallback
  const ms = typeof given === 'number' ? given : typeof given === 'string' ? parseDuration(given) : null
  if (ms === null || !Number.isFinite(ms) || !Number.isInteger(ms)) {
    throw new ConfigError(name, `not a duration (use e.g. 90s, 25m, 12h, 7d): ${JSON.stringify(value)}`)
  }
  const { min = 0, max = MAX_LIFETIME_MS } = bounds
  if (ms < min) throw new ConfigError(name, `must be at least ${min} ms`)
  if (ms > max) throw new ConfigError(name, `must be at most ${max} ms`)
  return ms
}
