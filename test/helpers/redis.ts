import { connect } from 'node:net'

/** Redis of the tests: `TEST_REDIS_URL`, else the local one. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Whether a TCP connection to the Redis of the tests opens within a second. */
export function probeRedis(): Promise<boolean> {
  const url = new URL(REDIS_URL)
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Whether the Redis tests of `file` run. Under CI an unreachable Redis is a failure (thrown here,
 * so the file fails); elsewhere the tests skip with one line saying why.
 */
export async function requireRedis(file: string): Promise<boolean> {
  if (await probeRedis()) return true
  if (process.env.CI === 'true') throw new Error(`${file}: Redis at ${REDIS_URL} is unreachable (CI=true)`)
  console.warn(`${file}: Redis at ${REDIS_URL} is unreachable; skipping its Redis tests`)
  return false
}
