import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebhookListener, signWebhookBody } from './webhook.js'

describe('createWebhookListener', () => {
  let receiver: Server
  let url: string
  let hits = 0

  beforeAll(async () => {
    // A receiver that takes the request and never answers: only the timeout can end an attempt.
    receiver = createServer(() => {
      hits++
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?key=private-token`
  })
  afterAll(async () => {
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it('bounds each attempt by its timeout, retries, then logs the failure without the URL query', async () => {
    const warnings: Record<string, unknown>[] = []
    const failed = new Promise<void>((resolve) => {
      const listener = createWebhookListener({
        url,
        // Long enough for a loopback connection on a loaded machine: each attempt must reach the
        // receiver (counted in hits) before its timeout ends it.
        timeoutMs: 1500,
        retries: 1,
        backoffMs: 50,
        logger: {
          info() {},
          error() {},
          warn(obj) {
            warnings.push(obj as Record<string, unknown>)
            resolve()
          },
        },
      })
      // Not a subscribed type: nothing is sent.
      const returned = listener({ type: 'login_failed', at: new Date().toISOString() })
      const returnedToo = listener({ type: 'refresh_reused', userId: 'u1', at: new Date().toISOString() })
      // Delivery runs in the background: the listener returns nothing to wait on, before the
      // request has even reached the (silent) receiver.
      expect([returned, returnedToo]).toEqual([undefined, undefined])
      expect(hits).toBe(0)
    })
    await failed
    expect(hits).toBe(2)
    expect(warnings).toHaveLength(1)
    expect(JSON.stringify(warnings)).not.toContain('private-token')
  })

  it('refuses a URL that is not http(s)', () => {
    expect(() => createWebhookListener({ url: 'file:///etc/passwd' })).toThrow(TypeError)
  })

  it('signs each body with EVENTS_WEBHOOK_SECRET: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">', async () => {
    const secret = 'webhook-secret-0123456789-abcdefghijklmnop'
    const received = new Promise<{ body: string; signature: string | undefined }>((resolve) => {
      const signed = createServer((req, res) => {
        let body = ''
        req.on('data', (chunk: Buffer) => (body += chunk))
        req.on('end', () => {
          res.end()
          signed.close()
          resolve({ body, signature: req.headers['x-tokenpair-signature'] as string | undefined })
        })
      })
      signed.listen(0, '127.0.0.1', () => {
        const port = (signed.address() as AddressInfo).port
        void createWebhookListener({ url: `http://127.0.0.1:${port}/`, secret })({
          type: 'refresh_reused',
          userId: 'u1',
          at: new Date().toISOString(),
        })
      })
    })
    const { body, signature } = await received
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature ?? '')
    expect(match).not.toBeNull()
    const t = Number(match![1])
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(60)
    expect(match![2]).toBe(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'))
    expect(signWebhookBody(secret, body, t * 1000)).toBe(signature)
    expect(JSON.parse(body)).toMatchObject({ type: 'refresh_reused', userId: 'u1' })
  })

  it('refuses a short secret', () => {
    expect(() => createWebhookListener({ url: 'https://hooks.example/', secret: 'short' })).toThrow(TypeError)
  })
})
