import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { loadOptionalPeer } from './optional-peer.js'

const pg = { name: 'pg', setting: 'DATABASE_URL', install: 'npm install pg@8', usedBy: 'PostgreSQL' }

describe('loadOptionalPeer', () => {
  it('returns the module when it loads', async () => {
    const module = { default: 'driver' }
    await expect(loadOptionalPeer(async () => module, pg)).resolves.toBe(module)
  })

  it('throws a ConfigError naming the setting and the install line, with the import error as cause', async () => {
    // A specifier the type checker cannot resolve ahead: the real import() of a package that is not there.
    const missing = ['tokenpair', 'no-such-package'].join('-')
    const error: unknown = await loadOptionalPeer(() => import(missing), pg).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).setting).toBe('DATABASE_URL')
    expect((error as ConfigError).message).toBe(
      'DATABASE_URL: PostgreSQL needs the pg package: npm install pg@8',
    )
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(((error as Error).cause as Error).message).toContain(missing)
  })

  it('leaves out what needs the package when the peer does not say', async () => {
    const redis = { name: 'ioredis', setting: 'REDIS_URL', install: 'npm install ioredis' }
    await expect(loadOptionalPeer(() => Promise.reject(new Error('gone')), redis)).rejects.toThrow(
      /^REDIS_URL: needs the ioredis package: npm install ioredis$/,
    )
  })
})
