import { decodeProtectedHeader } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createVerifier } from '../../src/verify/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'
import { bundleCLI, createTempData, runCLI, type TempData } from './cli-process.js'

const kidOf = (token: string) => decodeProtectedHeader(token).kid!

async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(`${url}/.well-known/jwks.json`)
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  // Polls a real server until it reloads: a bounded wait for an event, not a sleep for expiry.
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('key rotation across instances sharing a database', { timeout: 60_000 }, () => {
  let data: TempData
  let a: TestServer
  let b: TestServer

  let removeBundle: (() => void) | undefined

  beforeAll(async () => {
    removeBundle = await bundleCLI()
    data = createTempData()
    // A re-reads keys every 200 ms; B keeps the default (60 s), so it must reload on an unknown kid.
    a = await startTestServer({ database: data.databaseUrl, keyReloadInterval: 200 })
    b = await startTestServer({ database: data.databaseUrl })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    data?.remove()
    removeBundle?.()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('old tokens keep verifying everywhere while a rotation happens: zero failed requests', async () => {
    const user = await registerBearer(a.url)
    const oldKid = kidOf(user.accessToken)
    const verifier = createVerifier({
      jwksUrl: `${a.url}/.well-known/jwks.json`,
      issuer: 'tokenpair',
      audience: 'tokenpair',
    })
    await verifier.verify(user.accessToken)

    let running = true
    let ok = 0
    const failures: string[] = []
    const client = async () => {
      // Bounded: stops when the rotation checks are done, or after 3000 rounds at most.
      for (let i = 0; running && i < 3000; i++) {
        for (const server of [a, b]) {
          const res = await request(`${server.url}/auth/me`, {
            headers: { authorization: `Bearer ${user.accessToken}` },
          })
          if (res.status === 200) ok++
          else failures.push(`${res.status} ${res.body.code}`)
        }
        try {
          await verifier.verify(user.accessToken)
          ok++
        } catch (error) {
          failures.push(String(error))
        }
      }
    }
    const clients = [client(), client(), client()]

    const rotated = await runCLI(['keys', 'rotate', '--json'], data.env)
    expect(rotated.code, rotated.stderr).toBe(0)
    const newKid = JSON.parse(rotated.stdout).kid as string
    await waitFor(async () => (await jwksKids(a.url)).includes(newKid), 'instance A to load the new key')
    expect(await jwksKids(a.url)).toContain(oldKid)

    // A now signs with the new key; B has not reloaded yet and learns it from the token's kid.
    const login = await request<{ accessToken: string; refreshToken: string }>(`${a.url}/auth/login`, {
      body: { login: user.username, password: user.password },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(kidOf(login.body.data.accessToken)).toBe(newKid)
    const atB = await request(`${b.url}/auth/me`, {
      headers: { authorization: `Bearer ${login.body.data.accessToken}` },
    })
    expect(atB.status).toBe(200)
    expect(await jwksKids(b.url)).toEqual(expect.arrayContaining([oldKid, newKid]))
    // A refresh at B signs with the new key too.
    const refreshed = await request<{ accessToken: string }>(`${b.url}/auth/refresh`, {
      body: { refreshToken: user.refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(refreshed.status).toBe(200)
    expect(kidOf(refreshed.body.data.accessToken)).toBe(newKid)

    running = false
    await Promise.all(clients)
    expect(failures).toEqual([])
    expect(ok).toBeGreaterThan(30)

    // The outside verifier refetches JWKS for the unknown kid once its cool-down (10 s) has passed.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 11_000)
    const claims = await verifier.verify(login.body.data.accessToken)
    expect(claims.sub).toBe(user.id)
    await expect(verifier.verify(user.accessToken)).resolves.toMatchObject({ sub: user.id })
  })

  it('retire removes a key at once on reload; a rotated key leaves JWKS after the access-token lifetime', async () => {
    const user = await registerBearer(a.url)
    const firstKid = kidOf(user.accessToken)
    const rotated = await runCLI(['keys', 'rotate', '--json'], data.env)
    const secondKid = JSON.parse(rotated.stdout).kid as string
    await a.auth.reloadKeys()
    expect(await jwksKids(a.url)).toEqual(expect.arrayContaining([firstKid, secondKid]))

    const retired = await runCLI(['keys', 'retire', '--', firstKid], data.env)
    expect(retired.code, retired.stderr).toBe(0)
    await a.auth.reloadKeys()
    expect(await jwksKids(a.url)).not.toContain(firstKid)
    const refused = await request(`${a.url}/auth/me`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('invalid_token')

    const fresh = await registerBearer(a.url)
    expect(kidOf(fresh.accessToken)).toBe(secondKid)
    const rotatedAgain = await runCLI(['keys', 'rotate', '--json'], data.env)
    const thirdKid = JSON.parse(rotatedAgain.stdout).kid as string
    await a.auth.reloadKeys()
    expect(await jwksKids(a.url)).toEqual(expect.arrayContaining([secondKid, thirdKid]))
    vi.useFakeTimers({ toFake: ['Date'] })
    // Past the last token the second key signed (15 min plus the 5 s clock tolerance).
    vi.setSystemTime(Date.now() + 15 * 60_000 + 6000)
    await a.auth.reloadKeys()
    const kids = await jwksKids(a.url)
    expect(kids).toContain(thirdKid)
    expect(kids).not.toContain(secondKid)
  })
})
