import { connect } from 'node:net'
import { request } from '../helpers/http.js'

/** Redis of the security tests: `TEST_REDIS_URL`, else the local one. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Whether a TCP connection to the Redis of the tests opens within a second. */
export async function probeRedis(): Promise<boolean> {
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
 * Whether the Redis tests run. Under CI an unreachable Redis is a failure (thrown here, so the
 * file fails); elsewhere the tests skip with one line saying why.
 */
export async function requireRedis(file: string): Promise<boolean> {
  if (await probeRedis()) return true
  if (process.env.CI === 'true') throw new Error(`${file}: Redis at ${REDIS_URL} is unreachable (CI=true)`)
  console.warn(`${file}: Redis at ${REDIS_URL} is unreachable; skipping its Redis tests`)
  return false
}

/** A unique key prefix, so runs and files never share counters in Redis. */
export function uniquePrefix(tag: string): string {
  return `tp-test-${tag}-${process.pid}-${Date.now().toString(36)}`
}

/** `POST /auth/login` in bearer mode, as `ip` when the server trusts `X-Forwarded-For`. */
export function login(url: string, body: Record<string, unknown>, ip?: string) {
  const headers: Record<string, string> = { 'x-auth-mode': 'bearer' }
  if (ip) headers['x-forwarded-for'] = ip
  return request<{ accessToken: string; refreshToken: string }>(`${url}/auth/login`, { body, headers })
}
