import { randomUUID } from 'node:crypto'

/** Now in whole seconds, as JWT times are written. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/**
 * The claims of a sound access token for issuer and audience `tokenpair`, issued now for ten
 * minutes, with `over` on top (a claim set to `undefined` is left out of the token's JSON).
 */
export function accessClaims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'tokenpair',
    aud: 'tokenpair',
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    username: 'user',
    email: 'user@example.com',
    fullname: 'User',
    roles: ['user'],
    ...over,
  }
}
