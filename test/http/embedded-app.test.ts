import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newUser, request } from '../helpers/http.js'
import { type Served, serve } from '../helpers/serve.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * The router inside an app that has its own body parser and tokenpair's error handler, as a user
 * would write it: bad input must still get the contract's codes, and nothing of the body may reach the log.
 */
const lines: string[] = []
const logger = {
  info: (obj: object, msg?: string) => lines.push(JSON.stringify({ obj, msg })),
  warn: (obj: object, msg?: string) => lines.push(JSON.stringify({ obj, msg })),
  error: (obj: object, msg?: string) => lines.push(JSON.stringify({ obj, msg })),
}

let auth: TestServer
let app: Served
let base: string
beforeAll(async () => {
  auth = await startTestServer({ rateLimit: false, logger })
  const api = express()
  api.use(express.json())
  api.use('/auth', auth.auth.router())
  api.use(auth.auth.notFound())
  api.use(auth.auth.errorHandler())
  app = await serve(api)
  base = app.url
})
afterAll(async () => {
  await app.close()
  await auth.close()
})

describe('the router in an app of ones own', () => {
  it('answers malformed_json to a body its own parser refused, and logs nothing of it', async () => {
    const secret = 'my secret password 123'
    const res = await request(`${base}/auth/login`, {
      rawBody: `{"login":"someone","password":"${secret}"`,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('malformed_json')
    expect(lines.join('\n')).not.toContain(secret)
  })

  it('answers 413 to a body over its parser limit', async () => {
    const res = await request(`${base}/auth/login`, {
      rawBody: JSON.stringify({ login: 'x', password: 'p'.repeat(200 * 1024) }),
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect(res.body.code).toBe('payload_too_large')
  })

  it('answers 404, not 500, to a path that does not decode', async () => {
    const user = newUser()
    const reg = await request(`${base}/auth/register`, { body: user, headers: { 'x-auth-mode': 'bearer' } })
    expect(reg.status).toBe(201)
    const before = lines.length
    const res = await request(`${base}/auth/sessions/%E0%A4%A`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${reg.body.data.accessToken}` },
    })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
    expect(lines.slice(before).filter((l) => l.includes('unhandled error'))).toEqual([])
  })
})
