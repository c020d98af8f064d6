import type { AuthLogger } from '../common/logger.js'
import { loadOptionalPeer } from '../internal/optional-peer.js'

/** The few members of an `ioredis` client that tokenpair uses. */
export interface RedisClientLike {
  readonly status: string
  on(event: 'error' | 'ready' | 'close', listener: (...args: unknown[]) => void): unknown
  quit(): Promise<unknown>
  disconnect(): void
  /** `SET key value PX ms NX`: the DPoP replay store's one command. */
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>
}

/** Clients being closed on purpose: their `close` is not an outage. */
export const closing = new WeakSet<RedisClientLike>()

export async function connectRedis(url: string, logger: AuthLogger): Promise<RedisClientLike> {
  const mod = (await loadOptionalPeer(() => import('ioredis'), {
    name: 'ioredis',
    setting: 'REDIS_URL',
    install: 'npm install ioredis',
  })) as unknown as { Redis: new (url: string, options: Record<string, unknown>) => RedisClientLike }
  const client = new mod.Redis(url, {
    // Commands fail at once while disconnected, and the in-memory insurance limiter counts.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  })
  let down = false
  const reportDown = (code: string) => {
    if (down || closing.has(client)) return
    down = true
    logger.warn(
      { event: 'rate_limit_store_down', code },
      'Redis for rate limits is unreachable: counting in memory on this instance until it returns',
    )
  }
  // The URL may hold a password: log the error's code only, never the error or the URL.
  client.on('error', (...args: unknown[]) => {
    const error = args[0] as { code?: string; name?: string } | undefined
    reportDown(error?.code ?? error?.name ?? 'error')
  })
  client.on('close', () => reportDown('connection_closed'))
  client.on('ready', () => {
    if (!down) return
    down = false
    logger.info({ event: 'rate_limit_store_up' }, 'Redis for rate limits is back')
  })
  return client
}
