import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server/start-server.js'
import { newUser, request } from '../helpers/http.js'
import { launchBrowser, startReadyServer } from './browser.js'

const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt: string } }

/** What the page can learn of the DPoP key it keeps in IndexedDB. */
interface KeyReport {
  extractable: boolean
  exportError: string | null
  publicJwk: JWK
}

/** Reads the stored key pair in the page and tries to export its private half. */
function inspectStoredKey(page: Page): Promise<KeyReport> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('tokenpair-dpop')
      open.onsuccess = () => resolve(open.result)
      open.onerror = () => reject(open.error)
    })
    const pair = await new Promise<CryptoKeyPair>((resolve, reject) => {
      const tx = db.transaction('keys', 'readonly')
      const all = tx.objectStore('keys').getAll()
      all.onsuccess = () => resolve(all.result[0] as CryptoKeyPair)
      all.onerror = () => reject(all.error)
    })
    let exportError: string | null = null
    try {
      await crypto.subtle.exportKey('jwk', pair.privateKey)
    } catch (error) {
      exportError = (error as Error).name
    }
    return {
      extractable: pair.privateKey.extractable,
      exportError,
      publicJwk: (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JWK,
    }
  })
}

describe('DPoP in Chromium: a session a thief cannot use', () => {
  let browser: Browser
  let server: RunningServer
  let dataDir: string

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tokenpair-dpop-'))
    ;[browser, server] = await Promise.all([
      launchBrowser(),
      startReadyServer(dataDir, { RATE_LIMIT: 'off' }),
    ])
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('binds the demo page login to a key the page cannot export; the copied cookie is refused elsewhere', async () => {
    const user = newUser()
    expect((await request(`${server.url}/auth/register`, { body: user })).status).toBe(201)
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/`)
    await page.locator('[data-view="signed-out"]').waitFor({ state: 'visible' })
    await page.fill('#login-name', user.username)
    await page.fill('#login-password', user.password)
    await page.press('#login-password', 'Enter')
    await page.locator('[data-view="signed-in"]').waitFor({ state: 'visible' })
    await expect.poll(() => page.textContent('#profile-username')).toBe(user.username)

    const key = await inspectStoredKey(page)
    expect(key.extractable).toBe(false)
    expect(key.exportError).toBe('InvalidAccessError')
    const cookies = await context.cookies()
    const access = cookies.find((c) => c.name === 'accessToken')!.value
    expect(payloadOf(access).cnf?.jkt).toBe(await calculateJwkThumbprint(key.publicJwk))

    // The cookie, copied out and sent from elsewhere without the key, opens nothing.
    const stolen = await request(`${server.url}/auth/me`, { headers: { cookie: `accessToken=${access}` } })
    expect([stolen.status, stolen.body.code]).toEqual([401, 'invalid_dpop_proof'])
    // The page itself goes on, after a reload too (the key is in IndexedDB).
    await page.reload()
    await expect.poll(() => page.textContent('#profile-username')).toBe(user.username)
    await context.close()
  })

  it('a bearer-mode refresh token copied out of the page is refused without the key and stays the page’s; a replayed proof is refused', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    // The demo page: its Content-Security-Policy lets it load scripts of its own origin.
    await page.goto(`${server.url}/`)
    await page.evaluate("import('/tokenpair-client.js').then((m) => { window.tokenpair = m })")
    const user = newUser()
    const refreshToken = await page.evaluate(async (body) => {
      const w = window as unknown as {
        tokenpair: { createClient: (o: object) => unknown }
        client: { register(b: object): Promise<unknown>; getTokens(): { refreshToken: string } }
      }
      w.client = w.tokenpair.createClient({ baseUrl: location.origin, mode: 'bearer', dpop: true }) as never
      await w.client.register(body)
      return w.client.getTokens().refreshToken
    }, user)
    expect(payloadOf(refreshToken).cnf?.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const replay = await request(`${server.url}/auth/refresh`, {
      body: { refreshToken },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect([replay.status, replay.body.code]).toEqual([401, 'invalid_dpop_proof'])

    // The page's own refresh still works with that token; its request is captured on the way.
    const captured = page.waitForRequest((r) => r.url().endsWith('/auth/refresh'))
    await page.evaluate(() =>
      (window as unknown as { client: { refresh(): Promise<void> } }).client.refresh(),
    )
    const sent = await captured
    const response = await sent.response()
    expect(response?.status()).toBe(200)
    const proof = (await sent.allHeaders()).dpop!
    expect(proof.split('.')).toHaveLength(3)

    // The same request (token and proof) sent again from Node: the proof was spent, twice over.
    for (let i = 0; i < 2; i++) {
      const again = await request(`${server.url}/auth/refresh`, {
        body: { refreshToken },
        headers: { 'x-auth-mode': 'bearer', dpop: proof },
      })
      expect([again.status, again.body.code]).toEqual([401, 'invalid_dpop_proof'])
    }
    await context.close()
  })
})
