import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../../src/auth.js'
import { type Served, serve } from '../helpers/serve.js'
import { DISCARD_MAIL, TEST_SECRET } from '../helpers/test-server.js'

/* auth.pages(): the pages the mail links open, for an app of one's own that has none. */

let auth: Auth
let app: Served
beforeAll(async () => {
  auth = await createAuth({
    database: 'sqlite::memory:',
    secret: TEST_SECRET,
    mail: { transport: DISCARD_MAIL },
  })
  const api = express()
  api.use('/auth', auth.router())
  api.use(auth.pages())
  app = await serve(api)
})
afterAll(async () => {
  await app.close()
  await auth.close()
})

describe('auth.pages()', () => {
  it('serves /verify-email and /reset-password and what they load, locked down, and nothing else', async () => {
    for (const path of ['/verify-email?token=abc', '/reset-password?token=abc']) {
      const res = await fetch(`${app.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    }
    for (const [path, type] of [
      ['/demo.js', /javascript/],
      ['/demo.css', /css/],
      ['/tokenpair-client.js', /javascript/],
    ] as const) {
      const res = await fetch(`${app.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toMatch(type)
    }
    // The demo's home page is not part of it: the app's own `/` stays the app's.
    expect((await fetch(`${app.url}/`)).status).toBe(404)
  })
})
