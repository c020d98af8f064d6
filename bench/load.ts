import { createRequire } from 'node:module'

/** One request shape of autocannon; `setupRequest` may rewrite it before each send. */
export interface LoadRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string
  setupRequest?: (request: LoadRequest) => LoadRequest
}

/** The options of autocannon this bench uses. */
export interface LoadOptions {
  url: string
  connections: number
  /** Seconds; ignored when `amount` is set. */
  duration?: number
  /** Stop after this many requests. */
  amount?: number
  /** Requests per second across all connections. */
  overallRate?: number
  /** Milliseconds between autocannon's samples (default 1,000). */
  sampleInt?: number
  requests: LoadRequest[]
}

/** The part of an autocannon result this bench reads. */
export interface LoadResult {
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
  start: Date
  finish: Date
  latency: { p50: number; p99: number; average: number }
}

/** What one load run gives: successful requests per second and latency. */
export interface LoadSummary {
  perSecond: number
  ok: number
  failed: number
  p50: number
  p99: number
  seconds: number
}

// autocannon ships no types; this is the one call used, described by the members read.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: LoadOptions,
) => Promise<LoadResult>

/** Runs autocannon in this process against a server in another and sums up the result. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  // autocannon notices the end of a run (`amount` spent) only at its next sample, once a second
  // by default, and reports that as the finish: a run of 3,000 requests that took 1.6 s counted
  // 2 s. Sampling every 10 ms keeps the error under 1%.
  const result = await autocannon({ ...options, ...(options.amount ? { sampleInt: 10 } : {}) })
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000
  return {
    perSecond: result['2xx'] / seconds,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds,
  }
}

/**
 * A request list that sends `base` with each pool entry in turn, through `apply`. `used()` says
 * how many entries went out, so the runner can tell whether a pool wrapped around.
 */
export function rotateThrough<T>(
  base: LoadRequest,
  pool: readonly T[],
  apply: (request: LoadRequest, item: T) => LoadRequest,
): { requests: LoadRequest[]; used(): number } {
  let next = 0
  return {
    requests: [
      {
        ...base,
        setupRequest(request) {
          const item = pool[next % pool.length]!
          next++
          return apply(request, item)
        },
      },
    ],
    used: () => next,
  }
}
