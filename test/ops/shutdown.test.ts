import type { ChildProcess } from 'node:child_process'
import { type ClientRequest, request as httpRequest } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { registerBearer } from '../helpers/http.js'
import { createTempData, spawnCLI, type TempData } from './cli-process.js'

/** Requests in flight at SIGTERM: their bodies arrive only after the listener has closed. */
const SLOW = 8
/** Clients hammering /auth/me until /readyz says 503, as a balancer would. */
const LOAD_CLIENTS = 4

/** A request on its own new connection, with its status, or the socket error code. */
function startRequest(
  url: string,
  path: string,
  init: { body?: string; token?: string; contentLength?: number },
) {
  let req!: ClientRequest
  const done = new Promise<number | string>((resolve) => {
    req = httpRequest(`${url}${path}`, {
      method: init.body === undefined ? 'GET' : 'POST',
      agent: false,
      headers: {
        ...(init.body === undefined
          ? {}
          : {
              'content-type': 'application/json',
              'content-length': String(init.contentLength ?? init.body.length),
            }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
    })
    req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)))
    req.once('response', (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
  })
  return { req, done }
}

function get(url: string, path: string, token?: string): Promise<number | string> {
  const { req, done } = startRequest(url, path, { token })
  req.end()
  return done
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('graceful shutdown of tokenpair serve', () => {
  let data: TempData
  let child: ChildProcess | undefined

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    data?.remove()
  })

  it('on SIGTERM: /readyz 503, new connections refused, requests in flight finish, exit 0', async () => {
    data = createTempData({ PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DELAY: '300ms', SHUTDOWN_TIMEOUT: '10s' })
    const proc = spawnCLI(['serve'], data.env)
    child = proc
    let stdout = ''
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    proc.stderr!.resume()
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }))
    })
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stdout}`)), 30_000)
      proc.stdout!.on('data', () => {
        const match = /listening on (http:\/\/\S+)/.exec(stdout)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      })
    })
    const user = await registerBearer(url)

    // Load: each client sends /auth/me back to back until /readyz turns 503.
    let draining = false
    const loadResults: (number | string)[] = []
    const load = Array.from({ length: LOAD_CLIENTS }, async () => {
      for (let i = 0; !draining && i < 2000; i++)
        loadResults.push(await get(url, '/auth/me', user.accessToken))
    })

    // In flight: headers and half the body sent now, the rest after the listener has closed.
    const body = JSON.stringify({ login: user.username, password: user.password })
    const slow = Array.from({ length: SLOW }, () => {
      const started = startRequest(url, '/auth/login', { body, contentLength: body.length })
      started.req.write(body.slice(0, 10))
      return started
    })
    // A request on a later connection answered: the server has read the earlier ones' headers.
    expect(await get(url, '/healthz')).toBe(200)

    proc.kill('SIGTERM')
    let ready: number | string = 200
    for (let i = 0; ready === 200 && i < 100; i++) {
      ready = await get(url, '/readyz')
      if (ready === 200) await pause(20)
    }
    expect(ready).toBe(503)
    draining = true
    await Promise.all(load)

    // Within SHUTDOWN_DELAY the listener closes: new connections are refused...
    // (A connection accepted at the very moment of closing, before it sent anything, may be reset.)
    let probe: number | string = 200
    for (let i = 0; probe !== 'ECONNREFUSED' && i < 200; i++) {
      probe = await get(url, '/healthz')
      if (probe !== 'ECONNREFUSED') await pause(20)
    }
    expect(probe).toBe('ECONNREFUSED')
    // ...while the process waits for the requests in flight.
    expect(proc.exitCode).toBeNull()
    for (const { req } of slow) req.end(body.slice(10))
    const statuses = await Promise.all(slow.map((s) => s.done))
    expect(statuses).toEqual(Array.from({ length: SLOW }, () => 200))
    expect(loadResults.length).toBeGreaterThan(LOAD_CLIENTS)
    expect(loadResults.filter((status) => status !== 200)).toEqual([])

    expect(await exited).toEqual({ code: 0, signal: null })
    const lines = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string })
    expect(lines.map((l) => l.msg)).toContain('stopped')
    expect(stdout).not.toContain(user.password)
    expect(stdout).not.toContain(user.accessToken)
  }, 60_000)
})
