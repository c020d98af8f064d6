import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { REDIS_URL, requireRedis } from '../../test/helpers/redis.js'
import { MemoryDPoPReplayStore, RedisDPoPReplayStore } from './dpop-replay.js'

describe('MemoryDPoPReplayStore', () => {
  it('accepts a key once while it lives, and again after', () => {
    const store = new MemoryDPoPReplayStore()
    expect(store.claimNow('a', 1000, 0)).toBe(true)
    expect(store.claimNow('a', 1000, 999)).toBe(false)
    expect(store.claimNow('b', 1000, 999)).toBe(true)
    expect(store.claimNow('a', 1000, 1000)).toBe(true)
  })

  it('holds at most maxEntries, forgetting the oldest first', () => {
    const store = new MemoryDPoPReplayStore({ maxEntries: 2 })
    for (const key of ['a', 'b', 'c']) expect(store.claimNow(key, 60_000, 0)).toBe(true)
    expect(store.claimNow('c', 60_000, 1)).toBe(false)
    expect(store.claimNow('a', 60_000, 1)).toBe(true)
  })
})

const redisUp = await requireRedis('src/tokens/dpop-replay.test.ts')

describe.runIf(redisUp)('RedisDPoPReplayStore', () => {
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)]
  afterAll(async () => {
    for (const client of clients) await client.quit()
  })

  it('shares spent proofs between instances: a proof accepted on one is refused on the other', async () => {
    const keyPrefix = `test-${randomUUID()}`
    const [first, second] = clients.map((c) => new RedisDPoPReplayStore(c, { keyPrefix }))
    const key = `jkt:${randomUUID()}`
    const answers = await Promise.all([first!.claim(key, 60_000), second!.claim(key, 60_000)])
    expect(answers.sort()).toEqual([false, true])
    expect(await first!.claim(key, 60_000)).toBe(false)
    expect(await clients[0]!.pttl(`${keyPrefix}:dpop:${key}`)).toBeGreaterThan(50_000)
  })
})
