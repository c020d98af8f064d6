import { createHmac, type KeyObject, randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { resolveOptions } from '../config/options.js'
import { createSQLiteStorage } from '../storage/sql/sqlite-storage.js'
import type { Storage } from '../storage/storage.js'
import { KeyRing } from './keys.js'
import { createRefreshToken, readSignedRefreshToken, verifyRefreshToken } from './refresh-token.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0)
const T = NOW / 1000
const TOLERANCE = { clockToleranceMs: 5000 }

describe('refresh tokens: verifyRefreshToken and readSignedRefreshToken', () => {
  let storage: Storage
  let keys: KeyRing
  let accessKey: KeyObject
  beforeAll(async () => {
    storage = await createSQLiteStorage({ path: ':memory:' })
    await storage.migrate()
    const options = resolveOptions({
      database: storage,
      algorithm: 'HS256',
      accessTokenSecret: 'refresh-test-access-secret-0123456789abcdef',
      refreshTokenSecret: 'refresh-test-refresh-secret-0123456789abcdef',
    })
    keys = new KeyRing(options, storage)
    await keys.load()
    accessKey = keys.current.privateKey!
  })
  afterAll(async () => {
    await storage.close()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const claims = (over: Record<string, unknown> = {}) => ({
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    iat: T,
    exp: T + 3600,
    ...over,
  })
  const sign = (
    over: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: KeyObject = keys.refreshKey,
  ) => {
    const input = `${b64({ alg: 'HS256', typ: 'rt+jwt', kid: keys.refreshKid, ...header })}.${b64(claims(over))}`
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
  }
  /** What each reader says: the claims' sub, or the refusal. */
  async function verdicts(token: string): Promise<{ verify: string; read: string }> {
    const verify = await verifyRefreshToken(keys, token, TOLERANCE).then(
      (c) => `ok ${c.sub}`,
      (error: { code: string }) => error.code,
    )
    const read = await readSignedRefreshToken(keys, token).then((c) => (c ? `ok ${c.sub}` : 'null'))
    return { verify, read }
  }
  const refusedByBoth = { verify: 'invalid_refresh_token', read: 'null' }

  it('accepts its own tokens (the control), and returns the five claims', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    const issued = await createRefreshToken(
      keys,
      { userId: 'user-1', sessionId: 'session-1', jkt: null },
      NOW + 86_400_000,
    )
    const expected = { sub: 'user-1', sid: 'session-1', jti: issued.jti, iat: T, exp: T + 86_400 }
    expect(await verifyRefreshToken(keys, issued.token, TOLERANCE)).toEqual(expected)
    expect(await readSignedRefreshToken(keys, issued.token)).toEqual(expected)
    expect(await verdicts(sign({ sub: 'u' }))).toEqual({ verify: 'ok u', read: 'ok u' })
  })

  it('refuses another typ, the access token kind above all', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    for (const typ of ['at+jwt', 'JWT', 'application/at+jwt', undefined]) {
      expect(await verdicts(sign({}, { typ })), String(typ)).toEqual(refusedByBoth)
    }
    expect(await verdicts(sign({ sub: 'u' }, { typ: 'RT+JWT' }))).toEqual({ verify: 'ok u', read: 'ok u' })
  })

  it('refuses another alg, alg none and crit, and a MAC by the access secret', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    for (const header of [{ alg: 'HS512' }, { alg: 'EdDSA' }, { alg: 'none' }, { crit: ['exp'] }]) {
      expect(await verdicts(sign({}, header)), JSON.stringify(header)).toEqual(refusedByBoth)
    }
    const [h, p] = sign().split('.')
    expect(await verdicts(`${b64({ alg: 'none', typ: 'rt+jwt' })}.${p}.`)).toEqual(refusedByBoth)
    expect(await verdicts(`${h}.${p}.`)).toEqual(refusedByBoth)
    expect(await verdicts(sign({}, {}, accessKey))).toEqual(refusedByBoth)
  })

  it('refuses what the reader refuses: size, duplicated names', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    expect(await verdicts(sign({ pad: 'p'.repeat(9000) }))).toEqual(refusedByBoth)
    const input = `${b64({ alg: 'HS256', typ: 'rt+jwt' })}.${Buffer.from(`{"sub":"a",${JSON.stringify(claims()).slice(1)}`).toString('base64url')}`
    const duplicated = `${input}.${createHmac('sha256', keys.refreshKey).update(input).digest('base64url')}`
    expect(await verdicts(duplicated)).toEqual(refusedByBoth)
  })

  it('refuses a missing or mistyped claim', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    for (const over of [
      { sub: undefined },
      { sid: 42 },
      { jti: undefined },
      { iat: 'now' },
      { exp: undefined },
    ]) {
      expect(await verdicts(sign(over)), JSON.stringify(over)).toEqual(refusedByBoth)
    }
  })

  it('checks exp, nbf and iat with the tolerance; logout (readSignedRefreshToken) does not', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    const early = { verify: 'invalid_refresh_token', read: 'ok u' }
    const fine = { verify: 'ok u', read: 'ok u' }
    expect(await verdicts(sign({ sub: 'u', exp: T - 5 }))).toEqual(early)
    expect(await verdicts(sign({ sub: 'u', exp: T - 4 }))).toEqual(fine)
    expect(await verdicts(sign({ sub: 'u', nbf: T + 6 }))).toEqual(early)
    expect(await verdicts(sign({ sub: 'u', nbf: T + 5 }))).toEqual(fine)
    expect(await verdicts(sign({ sub: 'u', nbf: 'soon' }))).toEqual(early)
    expect(await verdicts(sign({ sub: 'u', iat: T + 6 }))).toEqual(early)
    expect(await verdicts(sign({ sub: 'u', iat: T + 5 }))).toEqual(fine)
  })
})
