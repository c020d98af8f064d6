import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { newUser, parseSetCookies, request } from '../helpers/http.js'

const CLI = ['--import', 'tsx', 'src/cli/tokenpair.ts']
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-server-'))
  dirs.push(dir)
  return dir
}

function run(env: Record<string, string>): {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
} {
  const { AUTH_SECRET: _drop, DATABASE_URL: _db, ...inherited } = process.env
  const child = spawn(process.execPath, [...CLI, 'serve'], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += String(chunk)
  })
  child.stderr!.on('data', (chunk) => {
    output += String(chunk)
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitFor(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('the ready server', () => {
  it('stops at start with one line naming a wrong variable', async () => {
    const server = run({ JWT_ALG: 'HS999', DATA_DIR: tempDir(), PORT: '0' })
    expect(await server.exited).toBe(2)
    const lines = server.output().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/JWT_ALG/)
  })

  it('serves register → me → refresh → logout with SQLite in the data folder, and exits cleanly on SIGTERM', async () => {
    const dataDir = tempDir()
    const server = run({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' })
    await waitFor(() => /listening on (http:\/\/\S+)/.test(server.output()))
    const url = /listening on (http:\/\/\S+)/.exec(server.output())![1]!
    expect(server.output()).toMatch(/AUTH_SECRET is not set/)
    expect(statSync(join(dataDir, 'auth-secret')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, 'tokenpair.db')).isFile()).toBe(true)
    expect(server.output()).not.toContain(readFileSync(join(dataDir, 'auth-secret'), 'utf8').trim())

    const registered = await request(`${url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'cookie' },
    })
    expect(registered.status).toBe(201)
    const cookies = parseSetCookies(registered.setCookies)
    const access = cookies.get('accessToken')!.value
    const refresh = cookies.get('refreshToken')!.value
    expect((await request(`${url}/auth/me`, { headers: { cookie: `accessToken=${access}` } })).status).toBe(
      200,
    )
    const refreshed = await request(`${url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${refresh}`, origin: url, 'x-auth-mode': 'cookie' },
    })
    expect(refreshed.status).toBe(200)
    const next = parseSetCookies(refreshed.setCookies).get('refreshToken')!.value
    const out = await request(`${url}/auth/logout`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${next}`, origin: url },
    })
    expect(out.status).toBe(200)
    const after = await request(`${url}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `refreshToken=${next}`, origin: url },
    })
    expect(after.body.code).toBe('invalid_refresh_token')

    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })
})
