import { loadOptionalPeer } from '../internal/optional-peer.js'
import { type DPoPReplayStore, RedisDPoPReplayStore, type RedisSetClient } from '../tokens/dpop-replay.js'

/** The members of an `ioredis` client that the shared replay store uses. */
interface RedisClient extends RedisSetClient {
  on(event: 'error', listener: (...args: unknown[]) => void): unknown
  disconnect(): void
}

/**
 * The DPoP replay store of a service with several instances: the proofs any instance accepted,
 * in Redis, so that a proof replayed to another instance behind the same URL is refused too. The
 * client connects on first use; until it can, each instance remembers proofs in memory.
 */
export function createSharedReplayStore(url: string): { store: DPoPReplayStore; close(): void } {
  let client: Promise<RedisClient> | null = null
  let closed = false
  const connect = (): Promise<RedisClient> => {
    client ??= loadOptionalPeer(() => import('ioredis'), {
      name: 'ioredis',
      setting: 'redisUrl',
      install: 'npm install ioredis',
    }).then((mod) => {
      const Redis = (
        mod as unknown as { Redis: new (url: string, o: Record<string, unknown>) => RedisClient }
      ).Redis
      const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 2000 })
      // The URL may hold a password: errors are not logged; the memory fallback counts meanwhile.
      redis.on('error', () => {})
      if (closed) redis.disconnect()
      return redis
    })
    return client
  }
  const lazy: RedisSetClient = {
    set: async (key, value, px, ms, nx) => (await connect()).set(key, value, px, ms, nx),
  }
  return {
    store: new RedisDPoPReplayStore(lazy, { keyPrefix: 'tokenpair:verifier' }),
    close() {
      closed = true
      void client?.then((redis) => redis.disconnect())
    },
  }
}
