import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { readServerConfig } from './env.js'
import { resolveOptions } from './options.js'

const SECRET = 's'.repeat(32)

function settingOf(fn: () => unknown): string | null {
  try {
    fn()
    return null
  } catch (error) {
    if (error instanceof ConfigError) return error.setting
    throw error
  }
}

describe('readServerConfig', () => {
  it('applies the defaults of API.md', () => {
    const config = readServerConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      databaseUrl: 'sqlite:./data/tokenpair.db',
      logLevel: 'info',
      trustProxy: false,
      authSecret: null,
    })
    expect(config.auth).toMatchObject({
      algorithm: 'EdDSA',
      issuer: 'tokenpair',
      audience: 'tokenpair',
      cookieSecure: true,
    })
    const resolved = resolveOptions({ ...config.auth, database: config.databaseUrl, secret: SECRET })
    expect(resolved).toMatchObject({
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 7 * 86_400_000,
      sessionMaxAgeMs: 30 * 86_400_000,
      refreshReuseGraceMs: 10_000,
      allowedOrigins: [],
    })
    expect(Object.isFrozen(resolved)).toBe(true)
  })

  it('reads every variable', () => {
    const config = readServerConfig({
      PORT: '9001',
      HOST: '0.0.0.0',
      DATABASE_URL: 'sqlite::memory:',
      JWT_ALG: 'ES256',
      JWT_ISSUER: 'https://auth.example',
      JWT_AUDIENCE: 'api',
      ACCESS_TOKEN_TTL: '90s',
      REFRESH_TOKEN_TTL: '12h',
      SESSION_MAX_AGE: '7d',
      REFRESH_REUSE_GRACE: '0',
      ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000',
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'warn',
      AUTH_SECRET: SECRET,
      TRUST_PROXY: '1',
    })
    expect(config).toMatchObject({
      port: 9001,
      host: '0.0.0.0',
      databaseUrl: 'sqlite::memory:',
      logLevel: 'warn',
      trustProxy: 1,
    })
    const resolved = resolveOptions({
      ...config.auth,
      database: config.databaseUrl,
      secret: config.authSecret!,
    })
    expect(resolved).toMatchObject({
      algorithm: 'ES256',
      issuer: 'https://auth.example',
      audience: 'api',
      accessTokenTtlMs: 90_000,
      refreshTokenTtlMs: 12 * 3_600_000,
      sessionMaxAgeMs: 7 * 86_400_000,
      refreshReuseGraceMs: 0,
      cookieSecure: false,
      allowedOrigins: ['https://a.example', 'http://localhost:3000'],
    })
  })

  it.each([
    [{ JWT_ALG: 'HS512' }, 'JWT_ALG'],
    [{ JWT_ALG: 'none' }, 'JWT_ALG'],
    [{ ACCESS_TOKEN_TTL: '15 minutes' }, 'ACCESS_TOKEN_TTL'],
    [{ REFRESH_TOKEN_TTL: '-1d' }, 'REFRESH_TOKEN_TTL'],
    [{ SESSION_MAX_AGE: '30' }, 'SESSION_MAX_AGE'],
    [{ REFRESH_REUSE_GRACE: 'ten' }, 'REFRESH_REUSE_GRACE'],
    [{ JWT_ALG: 'HS256' }, 'ACCESS_TOKEN_SECRET'],
    [{ AUTH_SECRET: 'short' }, 'AUTH_SECRET'],
    [{ JWT_ALG: 'HS256', ACCESS_TOKEN_SECRET: 'short' }, 'ACCESS_TOKEN_SECRET'],
    [{ REFRESH_TOKEN_SECRET: 'x'.repeat(31) }, 'REFRESH_TOKEN_SECRET'],
    [{ KEY_RELOAD_INTERVAL: '30d' }, 'KEY_RELOAD_INTERVAL'],
    [{ SWEEP_INTERVAL: '52w' }, 'SWEEP_INTERVAL'],
    [{ SESSION_MAX_AGE: '99999999d' }, 'SESSION_MAX_AGE'],
    [{ SHUTDOWN_TIMEOUT: '60d' }, 'SHUTDOWN_TIMEOUT'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ COOKIE_SECURE: 'yes please' }, 'COOKIE_SECURE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ALLOWED_ORIGINS: 'https://a.example/path' }, 'ALLOWED_ORIGINS'],
    [{ ALLOWED_ORIGINS: 'not a url' }, 'ALLOWED_ORIGINS'],
  ])('names the variable at fault: %j', (env, setting) => {
    expect(settingOf(() => readServerConfig(env))).toBe(setting)
  })
})

describe('resolveOptions', () => {
  it.each([
    [{ database: 'sqlite::memory:' }, 'secret'],
    [{ database: 'sqlite::memory:', secret: 'short' }, 'secret'],
    [{ database: 'sqlite::memory:', secret: SECRET, accessTokenTtl: 'soon' }, 'accessTokenTtl'],
    [{ database: 'sqlite::memory:', secret: SECRET, accessTokenTtl: 10 }, 'accessTokenTtl'],
    [{ database: 'sqlite::memory:', secret: SECRET, algorithm: 'HS256' as const }, 'accessTokenSecret'],
    [{ database: 'sqlite::memory:', secret: SECRET, allowedOrigins: ['ftp://x.example'] }, 'allowedOrigins'],
    [{ database: 'sqlite::memory:', secret: SECRET, basePath: 'auth' }, 'basePath'],
  ])('refuses %j', (options, setting) => {
    expect(settingOf(() => resolveOptions(options))).toBe(setting)
  })

  it('needs no AUTH_SECRET with HS256 and both token secrets', () => {
    const resolved = resolveOptions({
      database: 'sqlite::memory:',
      algorithm: 'HS256',
      accessTokenSecret: 'a'.repeat(32),
      refreshTokenSecret: 'b'.repeat(32),
    })
    expect(resolved.secret).toBeNull()
  })
})
