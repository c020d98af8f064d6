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
