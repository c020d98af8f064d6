import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../src/server/start-server.js'
import { registerBearer, request } from '../helpers/http.js'
import { type Served, serve } from '../helpers/serve.js'

/*
 * The ready server's own settings for what it exposes: METRICS_TOKEN closes /metrics to anyone
 * without the token, EVENTS_WEBHOOK_SECRET signs the webhook's bodies.
 */

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnop'
const WEBHOOK_SECRET = 'webhook-secret-0123456789-abcdefghijklmno'

let server: RunningServer
let receiver: Served
const deliveries: { body: string; signature: string | undefined }[] = []
let dataDir: string

beforeAll(async () => {
  receiver = await serve((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk))
    req.on('end', () => {
      deliveries.push({ body, signature: req.headers['x-tokenpair-signature'] as string | undefined })
      res.end()
    })
  })
  dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-settings-'))
  server = await startServer({
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: 'sqlite::memory:',
    AUTH_SECRET: 'server-settings-secret-0123456789-abcdefgh',
    LOG_LEVEL: 'silent',
    RATE_LIMIT: 'off',
    REFRESH_REUSE_GRACE: '0',
    METRICS_TOKEN,
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
  })
})

afterAll(async () => {
  await server?.stop()
  await receiver?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('METRICS_TOKEN', () => {
  it('answers /metrics only with the bearer token', async () => {
    const none = await request(`${server.url}/metrics`)
    expect([none.status, none.body.code]).toEqual([401, 'missing_token'])
    const wrong = await request(`${server.url}/metrics`, { headers: { authorization: 'Bearer nope' } })
    expect([wrong.status, wrong.body.code]).toEqual([401, 'invalid_token'])
    const right = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(right.status).toBe(200)
    expect(await right.text()).toContain('tokenpair_refresh_reuse_total{outcome="grace"} 0')
  })
})

describe('EVENTS_WEBHOOK_SECRET', () => {
  it('signs the refresh_reused delivery with t=<unix>,v1=<HMAC-SHA256 of "t.body">', async () => {
    const user = await registerBearer(server.url)
    const refresh = (token: string) =>
      request(`${server.url}/auth/refresh`, {
        body: { refreshToken: token },
        headers: { 'x-auth-mode': 'bearer' },
      })
    expect((await refresh(user.refreshToken)).status).toBe(200)
    expect((await refresh(user.refreshToken)).body.code).toBe('refresh_token_reused')
    await expect.poll(() => deliveries.length, { timeout: 10_000 }).toBe(1)
    const [{ body, signature }] = deliveries as [{ body: string; signature: string }]
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? []
    expect(v1).toBe(createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex'))
    expect(JSON.parse(body)).toMatchObject({ type: 'refresh_reused', userId: user.id })
  })
})

describe('the settings themselves', () => {
  it('refuse a short secret, naming the variable', async () => {
    for (const name of ['METRICS_TOKEN', 'EVENTS_WEBHOOK_SECRET']) {
      await expect(startServer({ DATA_DIR: dataDir, [name]: 'short' })).rejects.toThrow(
        new RegExp(`^${name}: too short`),
      )
    }
  })
})
