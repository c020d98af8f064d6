import { ConfigError } from '../errors.js'

/* Checks of single options that need more than a type test. */

/** `maxSessionsPerUser`: `null` for no cap. */
export function resolveSessionCap(value: number | undefined): number | null {
  if (value === undefined) return null
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new ConfigError(
      'maxSessionsPerUser',
      `must be a whole number from 1 to 100000, not ${JSON.stringify(value)}`,
    )
  }
  return value
}

/** An optional function option: `null` when absent, a `ConfigError` when not a function. */
export function resolveFunction<F>(name: string, value: F | undefined): F | null {
  if (value === undefined) return null
  if (typeof value !== 'function') throw new ConfigError(name, 'must be a function')
  return value
}

/**
 * An origin, `scheme://host[:port]` (a trailing `/` allowed), written the way browsers send it in
 * `Origin`: `new URL().origin` lowercases the host and drops a default port. A path, query or
 * credentials are refused rather than dropped: `https://a.example/app` would otherwise allow every
 * page of `https://a.example`, which is not what its author meant.
 */
export function resolveOrigin(name: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, `not an origin (scheme://host[:port]): ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `not an http(s) origin: ${JSON.stringify(value)}`)
  }
  if (url.href !== `${url.origin}/`) {
    throw new ConfigError(name, `not an origin (scheme://host[:port]): ${JSON.stringify(value)}`)
  }
  return url.origin
}
