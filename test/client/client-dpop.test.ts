import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.js'
import { newUser, request } from '../helpers/http.js'
import { serve } from '../helpers/serve.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt: string } }

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false })
})
afterAll(async () => {
  await server.close()
})

describe('client with dpop: true (Node: the key in memory)', () => {
  it('binds its session, calls with Authorization: DPoP, refreshes with proofs', async () => {
    const seen: string[] = []
    const client = createClient({
      baseUrl: server.url,
      mode: 'bearer',
      dpop: true,
      fetch: async (input, init) => {
        const req = new Request(input, init)
        seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get('dpop') ? 'proof' : '-'}`)
        return fetch(req)
      },
    })
    await client.register(newUser())
    const tokens = client.getTokens()!
    expect(payloadOf(tokens.accessToken).cnf?.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await client.me()).username).toMatch(/^user_/)
    await client.refresh()
    expect(payloadOf(client.getTokens()!.accessToken).cnf).toEqual(payloadOf(tokens.accessToken).cnf)
    expect((await client.me()).id).toBeTruthy()
    expect(seen).toEqual([
      'POST /auth/register proof',
      'GET /auth/me proof',
      'POST /auth/refresh proof',
      'GET /auth/me proof',
    ])
    client.close()
  })

  it('holds a refresh token that is worthless without its key', async () => {
    const client = createClient({ baseUrl: server.url, mode: 'bearer', dpop: true })
    await client.register(newUser())
    const stolen = client.getTokens()!.refreshToken
    const replay = await request(`${server.url}/auth/refresh`, {
      body: { refreshToken: stolen },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect([replay.status, replay.body.code]).toEqual([401, 'invalid_dpop_proof'])
    await expect(client.refresh()).resolves.toBeUndefined()
    client.close()
  })

  it('logs in and refreshes against a server that demands nonces (DPOP_NONCE), retrying by itself', async () => {
    const strict = await startTestServer({ rateLimit: false, dpopNonce: true })
    try {
      const client = createClient({ baseUrl: strict.url, mode: 'bearer', dpop: true })
      await client.register(newUser())
      expect(payloadOf(client.getTokens()!.accessToken).cnf?.jkt).toBeTruthy()
      await expect(client.refresh()).resolves.toBeUndefined()
      expect((await client.me()).id).toBeTruthy()
      client.close()
    } finally {
      await strict.close()
    }
  })

  it('retries once with the DPoP-Nonce a server asks for', async () => {
    // A service in front of the auth server that wants a nonce in every proof (RFC 9449 §9).
    const nonce = 'nonce-1'
    const app = express().get('/notes', (req, res) => {
      const proof = String(req.headers.dpop ?? '')
      const claims = JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString() || '{}')
      res.setHeader('DPoP-Nonce', nonce)
      if (claims.nonce !== nonce) {
        res.setHeader('WWW-Authenticate', 'DPoP error="use_dpop_nonce"')
        res.status(401).json({ code: 'use_dpop_nonce' })
        return
      }
      res.json({ ok: true })
    })
    const service = await serve(app)
    try {
      let sent = 0
      const client = createClient({
        baseUrl: server.url,
        mode: 'bearer',
        dpop: true,
        tokenOrigins: [service.url],
        fetch: (input, init) => {
          if (new URL(new Request(input, init).url).origin === service.url) sent++
          return fetch(input, init)
        },
      })
      await client.register(newUser())
      const res = await client.fetch(`${service.url}/notes`)
      expect(res.status).toBe(200)
      expect(sent).toBe(2)
      // The nonce is remembered: the next request needs no retry.
      expect((await client.fetch(`${service.url}/notes`)).status).toBe(200)
      expect(sent).toBe(3)
      client.close()
    } finally {
      await service.close()
    }
  })
})
