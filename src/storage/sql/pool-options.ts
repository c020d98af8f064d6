import { ConfigError } from '../../errors.js'

/** Connection-pool settings of the PostgreSQL and MySQL adapters. */
export interface SQLPoolOptions {
  /** Most connections the pool opens at once. Default `10`. */
  max?: number
  /** A connection idle this long (milliseconds) is closed. Default `30000`. */
  idleTimeoutMs?: number
  /**
   * How long (milliseconds) connecting may take before the call fails with `unavailable`. On
   * PostgreSQL it also bounds the wait for a free connection of a busy pool. Default `5000`.
   */
  connectTimeoutMs?: number
}

/** {@link SQLPoolOptions} with every default applied. */
export type ResolvedPoolOptions = Readonly<Required<SQLPoolOptions>>

/** The pool settings; each is also the name of the URL query parameter that sets it. */
const POOL_KEYS = [
  'max',
  'idleTimeoutMs',
  'connectTimeoutMs',
] as const satisfies readonly (keyof SQLPoolOptions)[]

const DEFAULTS: ResolvedPoolOptions = { max: 10, idleTimeoutMs: 30_000, connectTimeoutMs: 5_000 }

function readCount(name: string, value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(n) || n < 0 || (name === 'max' && n < 1)) {
    throw new ConfigError('DATABASE_URL', `pool setting ${name} must be a whole number, got ${String(value)}`)
  }
  return n
}

/**
 * Splits a database URL into the driver's URL and the pool settings carried in its query
 * (`?max=20&idleTimeoutMs=10000&connectTimeoutMs=2000`). Settings in `options` win over the URL's.
 * Other query parameters are left for the driver (e.g. PostgreSQL's `sslmode`).
 *
 * @example
 * ```ts
 * resolvePoolOptions('postgres://db/app?max=20') // { url: 'postgres://db/app', pool: { max: 20, … } }
 * ```
 */
export function resolvePoolOptions(
  url: string,
  options: SQLPoolOptions = {},
): { url: string; pool: ResolvedPoolOptions } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // The URL itself is never echoed: it may carry a password.
    throw new ConfigError('DATABASE_URL', 'not a valid URL')
  }
  const pool: Required<SQLPoolOptions> = { ...DEFAULTS }
  for (const key of POOL_KEYS) {
    const value = parsed.searchParams.get(key)
    if (value === null) continue
    pool[key] = readCount(key, value)
    parsed.searchParams.delete(key)
  }
  for (const key of POOL_KEYS) {
    const value = options[key]
    if (value !== undefined) pool[key] = readCount(key, value)
  }
  return { url: parsed.toString(), pool: Object.freeze(pool) }
}
