import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWebhookListener } from './webhook.js'

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
        timeoutMs: 200,
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
      const started = Date.now()
      // Not a subscribed type: nothing is sent.
      void listener({ type: 'login_failed', at: new Date().toISOString() })
      void listener({ type: 'refresh_reused', userId: 'u1', at: new Date().toISOString() })
      // Delivery runs in the background: the caller is not held up by the silent receiver.
      expect(Date.now() - started).toBeLessThan(50)
    })
    await failed
    expect(hits).toBe(2)
    expect(warnings).toHaveLength(1)
    expect(JSON.stringify(warnings)).not.toContain('private-token')
  })

  it('refuses a URL that is not http(s)', () => {
    expect(() => createWebhookListener({ url: 'file:///etc/passwd' })).toThrow(TypeError)
  })
})
