import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { ENV_VARIABLES, readServerConfig } from './env.js'
import { resolveOptions } from './options.js'

const SECRET = 's'.repeat(32)

/** The {@link ConfigError} that `fn` throws; fails the test when it throws none. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('no ConfigError was thrown')
}

describe('readServerConfig', () => {
  it('applies the documented defaults', () => {
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
      TABLE_PREFIX: 'auth_',
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
      tablePrefix: 'auth_',
    })
  })

  // Each variable with values it refuses; the error names that variable.
  const BAD_VALUES: Record<string, string[]> = {
    JWT_ALG: ['HS512', 'none'],
    ACCESS_TOKEN_TTL: ['15 minutes', '0s'],
    REFRESH_TOKEN_TTL: ['-1d'],
    SESSION_MAX_AGE: ['30', '99999999d'],
    REFRESH_REUSE_GRACE: ['ten'],
    AUTH_SECRET: ['short'],
    REFRESH_TOKEN_SECRET: ['x'.repeat(31)],
    KEY_RELOAD_INTERVAL: ['30d', '50ms'],
    SWEEP_INTERVAL: ['52w'],
    SHUTDOWN_TIMEOUT: ['60d'],
    SHUTDOWN_DELAY: ['soon', '25d'],
    PORT: ['eighty', '70000'],
    COOKIE_SECURE: ['yes please'],
    LOG_LEVEL: ['loud'],
    ALLOWED_ORIGINS: [
      'https://a.example/path',
      'not a url',
      'ftp://x',
      'https://u:p@a.example',
      'https://a.example?',
    ],
    EVENTS_WEBHOOK_URL: ['ftp://hooks.example', 'hooks.example'],
    RATE_LIMIT_LOGIN_PAIR: ['abc', '10/abc', '10/500ms', '10/24d'],
    // Spliced into SQL names: identifier characters only, lower case, bounded.
    TABLE_PREFIX: ['Auth_', '1x_', '_x', 'x-y', 'x"; drop table tp_users; --', 'é_', 'a'.repeat(25)],
  }
  it.each(Object.entries(BAD_VALUES).flatMap(([name, values]) => values.map((value) => [name, value])))(
    'names the variable at fault: %s=%j',
    (name, value) => {
      expect(configErrorOf(() => readServerConfig({ [name]: value })).setting).toBe(name)
    },
  )

  it.each([
    [{ JWT_ALG: 'HS256' }, 'ACCESS_TOKEN_SECRET'],
    [{ JWT_ALG: 'HS256', ACCESS_TOKEN_SECRET: 'short' }, 'ACCESS_TOKEN_SECRET'],
    [{ COOKIE_PREFIX: 'host', COOKIE_SECURE: 'false' }, 'COOKIE_PREFIX'],
    [{ ACCESS_TOKEN_SECRET: 'a'.repeat(32), REFRESH_TOKEN_SECRET: 'a'.repeat(32) }, 'REFRESH_TOKEN_SECRET'],
    [{ ACCESS_TOKEN_SECRET: SECRET, AUTH_SECRET: SECRET }, 'ACCESS_TOKEN_SECRET'],
  ])('names the variable at fault of a combination: %j', (env, setting) => {
    expect(configErrorOf(() => readServerConfig(env)).setting).toBe(setting)
  })

  it.each([
    [{ JWT_ALG: 'none' }, 'JWT_ALG: unknown algorithm "none"', 'algorithm'],
    [{ ACCESS_TOKEN_TTL: '0s' }, 'ACCESS_TOKEN_TTL: must be at least 1000 ms', 'accessTokenTtl'],
    [{ ALLOWED_ORIGINS: 'ftp://x' }, 'ALLOWED_ORIGINS: not an http(s) origin', 'allowedOrigins'],
    [{ RATE_LIMIT_LOGIN_PAIR: 'abc' }, 'RATE_LIMIT_LOGIN_PAIR: not a limit', 'rateLimit.loginPair'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL: must start with redis://', 'rateLimit.redisUrl'],
    [{ SMTP_URL: 'http://u:hunter2@mail.example' }, 'SMTP_URL: must start with smtp://', 'mail.smtpUrl'],
    [{ MAIL_FROM: 'nobody' }, 'MAIL_FROM: must be an address', 'mail.from'],
    [{ APP_URL: 'ftp://app.example' }, 'APP_URL: must be an http:// or https:// URL', 'appUrl'],
    [
      { COOKIE_PREFIX: 'host', COOKIE_SECURE: 'false' },
      'COOKIE_PREFIX: host needs Secure cookies',
      'cookiePrefix',
    ],
    [{ COOKIE_PREFIX: 'sometimes' }, 'COOKIE_PREFIX: must be one of none, secure, host', 'cookiePrefix'],
    [{ TABLE_PREFIX: 'x-' }, 'TABLE_PREFIX: must start with a lower-case letter', 'tablePrefix'],
    [{ TABLE_PREFIX: 'a'.repeat(25) }, 'TABLE_PREFIX: at most 24 characters', 'tablePrefix'],
  ])('reports an option rule under the variable, never the option: %j', (env, message, option) => {
    const error = configErrorOf(() => readServerConfig(env))
    expect(error.message.startsWith(message), error.message).toBe(true)
    expect(error.message).not.toContain(`${option}:`)
    expect(error.message).not.toContain('hunter2')
  })

  it('takes an origin with a trailing slash, any case or a default port, as browsers send it', () => {
    const config = readServerConfig({ ALLOWED_ORIGINS: 'https://A.example/, https://b.example:443' })
    const resolved = resolveOptions({ ...config.auth, database: config.databaseUrl, secret: SECRET })
    expect(resolved.allowedOrigins).toEqual(['https://a.example', 'https://b.example'])
  })

  it('reads RATE_LIMIT as a switch: off turns every limit off and ignores the others', () => {
    expect(readServerConfig({ RATE_LIMIT: 'off', RATE_LIMIT_LOGIN_PAIR: 'abc' }).auth.rateLimit).toBe(false)
    expect(readServerConfig({ RATE_LIMIT: 'on', RATE_LIMIT_LOGIN_PAIR: '5/1m' }).auth.rateLimit).toEqual({
      loginPair: '5/1m',
    })
    const error = configErrorOf(() => readServerConfig({ RATE_LIMIT: 'on', RATE_LIMIT_LOGIN_PAIR: 'abc' }))
    expect(error.setting).toBe('RATE_LIMIT_LOGIN_PAIR')
  })

  it('reads the server settings of each kind', () => {
    expect(readServerConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(readServerConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8')
    expect(readServerConfig({ SHUTDOWN_DELAY: '2s', SHUTDOWN_TIMEOUT: '500ms' })).toMatchObject({
      shutdownDelayMs: 2000,
      shutdownTimeoutMs: 500,
    })
    expect(readServerConfig({ EVENTS_WEBHOOK_URL: 'https://hooks.example/x' }).eventsWebhookUrl).toBe(
      'https://hooks.example/x',
    )
    expect(readServerConfig({ DATA_DIR: '/srv/tp/' }).databaseUrl).toBe('sqlite:/srv/tp/tokenpair.db')
    expect(readServerConfig({ LOG_LEVEL: 'DEBUG', COOKIE_PREFIX: 'Secure' })).toMatchObject({
      logLevel: 'debug',
      auth: { cookiePrefix: 'secure' },
    })
  })
})

describe('ENV_VARIABLES', () => {
  it('names each variable once, each option once, and fills every field of ServerConfig', () => {
    const names = ENV_VARIABLES.map((v) => v.name)
    expect(new Set(names).size).toBe(names.length)
    const options = ENV_VARIABLES.flatMap((v) => (v.option === undefined ? [] : [v.option]))
    expect(new Set(options).size).toBe(options.length)
    const settings = ENV_VARIABLES.flatMap((v) => (v.setting === undefined ? [] : [v.setting]))
    expect(Object.keys(readServerConfig({})).sort()).toEqual([...settings, 'auth'].sort())
    for (const variable of ENV_VARIABLES) {
      expect(variable.option ?? variable.setting, variable.name).toBeDefined()
    }
  })

  it('gives each variable the default its setting has', () => {
    const unset = readServerConfig({ AUTH_SECRET: SECRET })
    const explicit = readServerConfig({
      AUTH_SECRET: SECRET,
      ...Object.fromEntries(
        ENV_VARIABLES.flatMap((v) => (v.default === null ? [] : [[v.name, v.default] as const])),
      ),
    })
    const { auth: explicitAuth, ...explicitServer } = explicit
    const { auth: unsetAuth, ...unsetServer } = unset
    expect(explicitServer).toEqual(unsetServer)
    const resolve = (auth: typeof unsetAuth) =>
      resolveOptions({ ...auth, database: unset.databaseUrl, secret: SECRET })
    expect(resolve(explicitAuth)).toEqual(resolve(unsetAuth))
  })
})

describe('resolveOptions', () => {
  const BASE = { database: 'sqlite::memory:', secret: SECRET }
  it.each([
    [{ database: 'sqlite::memory:' }, 'secret'],
    [{ database: 'sqlite::memory:', secret: 'short' }, 'secret'],
    [{ ...BASE, accessTokenTtl: 'soon' }, 'accessTokenTtl'],
    [{ ...BASE, accessTokenTtl: 10 }, 'accessTokenTtl'],
    [{ ...BASE, algorithm: 'HS256' as const }, 'accessTokenSecret'],
    [{ ...BASE, allowedOrigins: ['ftp://x.example'] }, 'allowedOrigins'],
    [{ ...BASE, allowedOrigins: ['https://x.example/app'] }, 'allowedOrigins'],
    [{ ...BASE, basePath: 'auth' }, 'basePath'],
    // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
    [{ ...BASE, algorithm: 'none' as any }, 'algorithm'],
    [{ ...BASE, accessTokenSecret: 'short' }, 'accessTokenSecret'],
    [{ ...BASE, refreshTokenSecret: 'short' }, 'refreshTokenSecret'],
    [
      { ...BASE, accessTokenSecret: 'a'.repeat(32), refreshTokenSecret: 'a'.repeat(32) },
      'refreshTokenSecret',
    ],
    [{ ...BASE, accessTokenSecret: SECRET }, 'accessTokenSecret'],
    // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
    [{ secret: SECRET, database: 42 as any }, 'database'],
    [{ ...BASE, issuer: '' }, 'issuer'],
    [{ ...BASE, audience: '' }, 'audience'],
    [{ ...BASE, keyReloadInterval: '50ms' }, 'keyReloadInterval'],
    [{ ...BASE, sweepInterval: '30d' }, 'sweepInterval'],
    [{ ...BASE, refreshReuseGrace: 1.5 }, 'refreshReuseGrace'],
    // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
    [{ ...BASE, cookiePrefix: 'sometimes' as any }, 'cookiePrefix'],
    [{ ...BASE, cookiePrefix: 'secure' as const, cookieSecure: false }, 'cookiePrefix'],
  ])('refuses %j', (options, setting) => {
    expect(configErrorOf(() => resolveOptions(options)).setting).toBe(setting)
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
