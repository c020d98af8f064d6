import { request } from '../helpers/http.js'

export { probeRedis, REDIS_URL, requireRedis } from '../helpers/redis.js'

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
