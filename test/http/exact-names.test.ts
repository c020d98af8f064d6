import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newUser, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/*
 * Login names are compared exactly (after trimming and lower-casing), on every database: on
 * MySQL/MariaDB a case-insensitive collation such as utf8mb4_general_ci also folds accents, so
 * that `alicé` would log in as `alice` while the limiter counts `alicé` as another name, and every
 * accent variant would bring a fresh guessing budget for the one account.
 */

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({
    rateLimit: { loginPair: '3/1h', loginName: '3/1h', loginIp: false, register: false },
  })
})
afterAll(async () => {
  await server.close()
})

const login = (name: string, password: string) =>
  request(`${server.url}/auth/login`, {
    body: { login: name, password },
    headers: { 'x-auth-mode': 'bearer' },
  })

describe('exact login names', () => {
  it('does not let an accented spelling log in as the plain name', async () => {
    const base = newUser()
    const username = `${base.username.slice(0, 20)}alice`
    const [local, domain] = base.email.split('@') as [string, string]
    const email = `${local}e@${domain}`
    const body = { ...base, username, email }
    expect((await request(`${server.url}/auth/register`, { body })).status).toBe(201)
    const res = await login(username.replace(/e$/, 'é'), body.password)
    expect([res.status, res.body.code]).toEqual([401, 'invalid_credentials'])
    const viaEmail = await login(email.replace('e@', 'é@'), body.password)
    expect([viaEmail.status, viaEmail.body.code]).toEqual([401, 'invalid_credentials'])
    expect((await login(username, body.password)).status).toBe(200)
  })

  it('counts the limits per account: accent variants bring no fresh budget for it', async () => {
    const base = newUser()
    const username = `${base.username.slice(0, 20)}e`
    expect((await request(`${server.url}/auth/register`, { body: { ...base, username } })).status).toBe(201)
    const variants = ['é', 'è', 'ê', 'ë', 'É'].map((c) => `${username.slice(0, -1)}${c}`)
    // Each variant is a name of its own with no account: the right password gets nowhere by it.
    for (const variant of variants) {
      const res = await login(variant, base.password)
      expect([res.status, res.body.code], variant).toEqual([401, 'invalid_credentials'])
    }
    // The account's own budget is untouched by them: its owner still logs in.
    expect((await login(username, base.password)).status).toBe(200)
  })

  it('still refuses a second account whose name differs only in case, and finds names case-insensitively', async () => {
    const body = newUser()
    expect((await request(`${server.url}/auth/register`, { body })).status).toBe(201)
    const again = await request(`${server.url}/auth/register`, {
      body: { ...newUser(), username: body.username.toUpperCase() },
    })
    expect([again.status, again.body.code]).toEqual([409, 'username_taken'])
    expect((await login(body.username.toUpperCase(), body.password)).status).toBe(200)
  })
})
