import { describe, expect, it } from 'vitest'
import {
  ACCESS_TOKEN_SHAPE,
  checkTimeClaims,
  hasClaimShape,
  REFRESH_TOKEN_SHAPE,
  readAccessTokenClaims,
  readRefreshTokenClaims,
} from './claims.js'

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0) // a whole second
const T = NOW / 1000
const TOLERANCE_MS = 5000

const access = (over: Record<string, unknown> = {}) => ({
  iss: 'tokenpair',
  aud: 'tokenpair',
  sub: 'user',
  sid: 'session',
  jti: 'id',
  iat: T,
  exp: T + 900,
  username: 'user',
  email: 'user@example.com',
  fullname: 'User',
  roles: ['user'],
  email_verified: true,
  ...over,
})
const refresh = (over: Record<string, unknown> = {}) => ({
  sub: 'user',
  sid: 'session',
  jti: 'id',
  iat: T,
  exp: T + 86_400,
  ...over,
})

describe('hasClaimShape', () => {
  it('wants every claim of the access and refresh shapes, with its type', () => {
    expect(hasClaimShape(access(), ACCESS_TOKEN_SHAPE)).toBe(true)
    const { email_verified: _optional, ...unverified } = access()
    expect(hasClaimShape(unverified, ACCESS_TOKEN_SHAPE)).toBe(true)
    expect(hasClaimShape(refresh(), REFRESH_TOKEN_SHAPE)).toBe(true)
    const wrong: Record<string, unknown[]> = {
      sub: [undefined, 42, null, ['user']],
      sid: [undefined, 42],
      jti: [undefined, 42],
      iat: [undefined, '1700000000', null, Number.POSITIVE_INFINITY],
      exp: [undefined, '9999999999', Number.NaN, Number.POSITIVE_INFINITY],
      username: [undefined, 42],
      email: [undefined, false],
      fullname: [undefined, {}],
      roles: [undefined, 'admin', [1], ['user', null]],
      email_verified: ['yes', 1, null],
    }
    for (const [name, values] of Object.entries(wrong)) {
      for (const value of values) {
        const payload: Record<string, unknown> = access({ [name]: value })
        if (value === undefined) delete payload[name]
        expect(hasClaimShape(payload, ACCESS_TOKEN_SHAPE), `${name}: ${String(value)}`).toBe(false)
        if (name in REFRESH_TOKEN_SHAPE) {
          const r: Record<string, unknown> = refresh({ [name]: value })
          if (value === undefined) delete r[name]
          expect(hasClaimShape(r, REFRESH_TOKEN_SHAPE), `refresh ${name}: ${String(value)}`).toBe(false)
        }
      }
    }
  })

  it('counts own members only', () => {
    const inherited = Object.create({ sub: 'user' }) as Record<string, unknown>
    Object.assign(inherited, refresh())
    delete inherited.sub
    expect(inherited.sub).toBe('user')
    expect(hasClaimShape(inherited, REFRESH_TOKEN_SHAPE)).toBe(false)
  })
})

describe('checkTimeClaims', () => {
  const check = (over: Record<string, unknown>) => checkTimeClaims(refresh(over), NOW, TOLERANCE_MS)

  it('refuses exp at or before now − tolerance, and takes it one second later', () => {
    expect(check({ exp: T - 5 })).toBe('expired')
    expect(check({ exp: T - 60 })).toBe('expired')
    expect(check({ exp: T - 4 })).toBeNull()
    // Whole seconds, as jose: 999 ms into the second is still that second.
    expect(checkTimeClaims(refresh({ exp: T - 4 }), NOW + 999, TOLERANCE_MS)).toBeNull()
    expect(checkTimeClaims(refresh({ exp: T - 4 }), NOW + 1000, TOLERANCE_MS)).toBe('expired')
    expect(checkTimeClaims(refresh({ exp: T - 4.5 }), NOW + 999, TOLERANCE_MS)).toBeNull()
  })

  it('refuses nbf and iat later than now + tolerance, and takes them at it', () => {
    expect(check({ nbf: T + 5 })).toBeNull()
    expect(check({ nbf: T + 6 })).toBe('not_yet_valid')
    expect(check({ iat: T + 5 })).toBeNull()
    expect(check({ iat: T + 6 })).toBe('not_yet_valid')
    expect(checkTimeClaims(refresh({ iat: T + 1 }), NOW, 0)).toBe('not_yet_valid')
    expect(checkTimeClaims(refresh({ exp: T }), NOW, 0)).toBe('expired')
  })

  it('refuses a time claim that is not a finite number, and ignores an absent one', () => {
    for (const name of ['nbf', 'iat', 'exp']) {
      for (const value of ['soon', null, Number.POSITIVE_INFINITY, [T]]) {
        expect(check({ [name]: value }), `${name}: ${String(value)}`).toBe('mistyped')
      }
    }
    expect(checkTimeClaims({}, NOW, TOLERANCE_MS)).toBeNull()
  })
})

describe('readAccessTokenClaims', () => {
  const expected = { issuer: 'tokenpair', audience: 'tokenpair', clockToleranceMs: TOLERANCE_MS }
  const read = (over: Record<string, unknown> = {}) => {
    try {
      readAccessTokenClaims(access(over), expected, NOW)
      return 'ok'
    } catch (error) {
      return (error as { code: string }).code
    }
  }

  it('returns the claims of a sound token (the control)', () => {
    expect(readAccessTokenClaims(access(), expected, NOW)).toEqual(access())
  })

  it('refuses another iss or aud, and takes an aud array holding ours', () => {
    expect(read({ iss: 'someone-else' })).toBe('invalid_token')
    expect(read({ iss: undefined })).toBe('invalid_token')
    expect(read({ iss: ['tokenpair'] })).toBe('invalid_token')
    expect(read({ aud: 'another-api' })).toBe('invalid_token')
    expect(read({ aud: ['another-api'] })).toBe('invalid_token')
    expect(read({ aud: undefined })).toBe('invalid_token')
    expect(read({ aud: ['another-api', 'tokenpair'] })).toBe('ok')
  })

  it('refuses a missing or mistyped claim', () => {
    expect(read({ sid: undefined })).toBe('invalid_token')
    expect(read({ roles: 'admin' })).toBe('invalid_token')
  })

  it('answers token_expired for exp, invalid_token for nbf and iat ahead', () => {
    expect(read({ exp: T - 5 })).toBe('token_expired')
    expect(read({ exp: T - 4 })).toBe('ok')
    expect(read({ nbf: T + 6 })).toBe('invalid_token')
    expect(read({ iat: T + 6 })).toBe('invalid_token')
    expect(read({ iat: T + 5, nbf: T + 5 })).toBe('ok')
  })
})

describe('readRefreshTokenClaims', () => {
  it('returns the five claims only, or null when one is missing or mistyped', () => {
    expect(readRefreshTokenClaims({ ...refresh(), extra: 1 })).toEqual(refresh())
    expect(readRefreshTokenClaims(refresh({ jti: 7 }))).toBeNull()
    const { sid: _sid, ...withoutSid } = refresh()
    expect(readRefreshTokenClaims(withoutSid)).toBeNull()
  })
})
