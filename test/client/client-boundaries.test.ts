import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import {
  type ClientError,
  type ClientErrorCode,
  createClient,
  type TokenpairClient,
} from '../../src/client/index.js'
import { newUser } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

const CLIENT_DIR = join(import.meta.dirname, '..', '..', 'src', 'client')
const PROTOCOL_DIR = join(import.meta.dirname, '..', '..', 'src', 'protocol')

function clientSources(): { file: string; source: string }[] {
  const files = readdirSync(CLIENT_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  return files.map((file) => ({ file, source: readFileSync(join(CLIENT_DIR, file), 'utf8') }))
}

describe('client boundaries', () => {
  it('imports nothing but its own files, protocol/ and the browser half of WebAuthn: no node:, no server code', () => {
    const files = clientSources()
    expect(files.length).toBeGreaterThan(3)
    let seen = 0
    for (const { file, source } of files) {
      // Static and dynamic imports on code lines (TSDoc examples, on `*` lines, do not count).
      const specifiers = [
        ...source.matchAll(/^(?!\s*\*)[^\n]*?(?:\bfrom\s+|\bimport\s*\(\s*)'([^']+)'/gm),
      ].map((m) => m[1]!)
      for (const specifier of specifiers) {
        // @simplewebauthn/browser is the one package: passkeys need its encoding of the ceremony.
        expect(`${file}: ${specifier}`).toMatch(
          /: (?:(?:\.\/|\.\.\/protocol\/)[a-z-]+\.js|@simplewebauthn\/browser)$/,
        )
      }
      seen += specifiers.length
    }
    expect(seen).toBeGreaterThan(5)
  })

  it('imports a protocol/ file that holds zod with `import type` only', () => {
    let values = 0
    for (const { file, source } of clientSources()) {
      // Whole statements, so that a multi-line import is read from its first word.
      for (const m of source.matchAll(
        /^(import|export)(\s+type)?\b[^']*?\bfrom\s+'\.\.\/protocol\/([a-z-]+)\.js'/gm,
      )) {
        if (m[2] !== undefined) continue
        values++
        const protocolSource = readFileSync(join(PROTOCOL_DIR, `${m[3]}.ts`), 'utf8')
        expect(protocolSource, `${file} imports ../protocol/${m[3]}.js as a value`).not.toMatch(/from 'zod'/)
      }
    }
    expect(values).toBeGreaterThan(0)
  })

  it('bundles for browsers without zod or any package but @simplewebauthn/browser', async () => {
    const { build } = await import('esbuild')
    const result = await build({
      entryPoints: [join(CLIENT_DIR, 'index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.some((i) => i.includes('src/protocol/'))).toBe(true)
    const packages = inputs.filter((i) => i.includes('node_modules/'))
    expect(packages.some((i) => i.includes('node_modules/@simplewebauthn/browser/'))).toBe(true)
    expect(packages.filter((i) => !i.includes('node_modules/@simplewebauthn/browser/'))).toEqual([])
  })

  it('has the public types it documents', () => {
    expectTypeOf(createClient).returns.toEqualTypeOf<TokenpairClient>()
    expectTypeOf<ClientError['code']>().toEqualTypeOf<ClientErrorCode>()
    expectTypeOf<TokenpairClient['fetch']>().returns.toEqualTypeOf<Promise<Response>>()
    expectTypeOf<TokenpairClient['logoutAll']>().returns.toEqualTypeOf<Promise<number>>()
  })
})

describe('client token boundaries (bearer mode, real server)', () => {
  let server: TestServer
  let elsewhere: Server
  let elsewhereUrl: string
  const seen: (string | undefined)[] = []
  beforeAll(async () => {
    server = await startTestServer()
    elsewhere = await new Promise<Server>((resolve) => {
      const s = createServer((req, res) => {
        seen.push(req.headers.authorization)
        res.end('ok')
      }).listen(0, '127.0.0.1', () => resolve(s))
    })
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    elsewhere.closeAllConnections()
    await new Promise<void>((resolve) => elsewhere.close(() => resolve()))
    await server.close()
  })

  it('sends the access token to the auth server and to tokenOrigins only', async () => {
    const plain = createClient({ baseUrl: server.url, mode: 'bearer' })
    const trusting = createClient({ baseUrl: server.url, mode: 'bearer', tokenOrigins: [elsewhereUrl] })
    try {
      await plain.register(newUser())
      await trusting.register(newUser())
      expect((await plain.fetch(`${server.url}/auth/me`)).status).toBe(200)
      await plain.fetch(`${elsewhereUrl}/api`)
      await trusting.fetch(`${elsewhereUrl}/api`)
      expect(seen).toEqual([undefined, `Bearer ${trusting.getTokens()!.accessToken}`])
    } finally {
      plain.close()
      trusting.close()
    }
  })

  it('logs out: the server revokes the session and the client forgets its tokens', async () => {
    const ended: string[] = []
    const client = createClient({
      baseUrl: server.url,
      mode: 'bearer',
      onSessionEnd: (e) => ended.push(e.reason),
    })
    try {
      await client.register(newUser())
      const { refreshToken } = client.getTokens()!
      await client.logout()
      expect(client.getTokens()).toBeNull()
      expect(ended).toEqual(['logout'])
      const reuse = await fetch(`${server.url}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
        body: JSON.stringify({ refreshToken }),
      })
      expect(reuse.status).toBe(401)
    } finally {
      client.close()
    }
  })
})
