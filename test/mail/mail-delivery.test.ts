import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { readServerConfig } from '../../src/config/env.js'
import { ConfigError } from '../../src/errors.js'
import { newUser, request } from '../helpers/http.js'
import {
  median,
  parseMail,
  readLink,
  type SMTPPeer,
  startMailTestServer,
  startSMTPPeer,
} from './mail-test-kit.js'

const TIMING_SAMPLES = 15

/** Client of the timing test: alternates known and unknown addresses, one sample per "next" line. */
const TIMING_CLIENT = `
const [url, knownAddress] = process.argv.slice(1)
const { createInterface } = await import('node:readline')
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
await (await fetch(url + '/healthz')).text()
for (let i = 0; i < ${TIMING_SAMPLES}; i++) {
  for (const kind of ['known', 'unknown']) {
    const email = kind === 'known' ? knownAddress : 'nobody-' + i + '@example.com'
    const started = performance.now()
    const res = await fetch(url + '/auth/password/reset/request', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    })
    await res.text()
    process.stdout.write(JSON.stringify({ kind, ms: performance.now() - started, status: res.status }) + '\\n')
    await lines.next()
  }
}
process.exit(0)
`

/* How mail travels: TLS, retries, failures that never reach the request or the log, shutdown, the
 * outbox folder, the origin of links, the limits and the timing of reset requests. */

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function peerFor(options: Parameters<typeof startSMTPPeer>[0] = {}): Promise<SMTPPeer> {
  const peer = await startSMTPPeer(options)
  cleanups.push(() => peer.close())
  return peer
}

async function serverFor(options: Parameters<typeof startMailTestServer>[0]) {
  const srv = await startMailTestServer(options)
  cleanups.push(() => srv.close())
  return srv
}

async function register(url: string) {
  const body = newUser()
  const res = await request<{ accessToken: string }>(`${url}/auth/register`, {
    body,
    headers: { 'x-auth-mode': 'bearer' },
  })
  expect(res.status).toBe(201)
  return { ...body, accessToken: res.body.data.accessToken }
}

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('transport', () => {
  it('delivers over TLS when the URL says smtps://', async () => {
    const peer = await peerFor({ secure: true })
    const srv = await serverFor({ mail: { smtpUrl: peer.url } })
    const user = await register(srv.url)
    const mail = await peer.nextMail(user.email)
    expect(mail.secure).toBe(true)
    expect(mail.from).toBe('tokenpair@localhost')
    expect(readLink(mail, 'verify-email').token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('retries a refused mail, and logs the refusals without the link', async () => {
    const peer = await peerFor()
    const srv = await serverFor({ mail: { smtpUrl: peer.url, retryDelay: 20, attempts: 3 } })
    // The peer echoes the whole message back in its refusal: the log must still not show the link.
    peer.refuseNext(2, 451, (raw) => `try later ${parseMail(raw).text.replace(/\s+/g, ' ')}`)
    const user = await register(srv.url)
    const mail = await peer.nextMail(user.email)
    const { token, link } = readLink(mail, 'verify-email')
    const retries = srv.logger.lines.filter((l) => l.msg?.includes('will retry'))
    expect(retries).toHaveLength(2)
    expect(JSON.stringify(retries[0]!.obj)).toContain('451')
    expect(JSON.stringify(retries[0]!.obj)).toContain('[redacted]')
    expect(srv.logger.text()).not.toContain(token)
    expect(srv.logger.text()).not.toContain(link)
    // Nor the recipient, which the refusal quoted too (the mail's text names the address).
    expect(srv.logger.text()).not.toContain(user.email)
  })

  it('gives up after the last attempt, logs it once, and the user can ask again', async () => {
    const peer = await peerFor()
    const srv = await serverFor({ mail: { smtpUrl: peer.url, retryDelay: 10, attempts: 2 } })
    peer.refuseNext(2, 550, () => 'mailbox unavailable')
    const user = await register(srv.url)
    await srv.auth.flushMail()
    expect(srv.logger.lines.filter((l) => l.level === 'error' && l.msg?.includes('giving up'))).toHaveLength(
      1,
    )
    const again = await request(`${srv.url}/auth/email/verify/request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(again.status).toBe(200)
    const mail = await peer.nextMail(user.email)
    const ok = await request(`${srv.url}/auth/email/verify`, {
      body: { token: readLink(mail, 'verify-email').token },
    })
    expect(ok.status).toBe(200)
  })

  it('answers at once while the SMTP server is slow, and delivers afterwards', async () => {
    const peer = await peerFor({ acceptDelayMs: 1500 })
    const srv = await serverFor({ mail: { smtpUrl: peer.url } })
    const user = await register(srv.url)
    await peer.nextMail(user.email)
    const started = performance.now()
    const res = await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    const elapsed = performance.now() - started
    expect(res.status).toBe(200)
    expect(elapsed).toBeLessThan(1000)
    await peer.nextMail(user.email)
  })

  it('does not fail a request when the SMTP server is down, and close() cancels the retries', async () => {
    const port = await deadPort()
    const srv = await startMailTestServer({
      mail: { smtpUrl: `smtp://127.0.0.1:${port}`, retryDelay: '10m' },
    })
    const user = await register(srv.url)
    const reset = await request(`${srv.url}/auth/password/reset/request`, { body: { email: user.email } })
    expect(reset.status).toBe(200)
    // Wait for the first failed try (connection refused), not for the 10-minute retry.
    for (let i = 0; i < 200 && !srv.logger.lines.some((l) => l.msg?.includes('will retry')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(srv.logger.lines.some((l) => l.msg?.includes('will retry'))).toBe(true)
    const started = performance.now()
    await srv.close()
    expect(performance.now() - started).toBeLessThan(2000)
    expect(srv.logger.lines.some((l) => l.msg?.includes('shutting down'))).toBe(true)
  })
})

describe('outbox', () => {
  it('writes an .eml file per mail when there is no SMTP server, and says so once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenpair-outbox-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const outbox = join(dir, 'outbox')
    const srv = await serverFor({ mail: { outboxDir: outbox } })
    expect(srv.logger.lines.filter((l) => l.msg?.includes('outbox'))).toHaveLength(1)
    const user = await register(srv.url)
    await srv.auth.flushMail()
    const files = await readdir(outbox)
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/\.eml$/)
    expect((await stat(join(outbox, files[0]!))).mode & 0o777).toBe(0o600)
    const raw = await readFile(join(outbox, files[0]!), 'utf8')
    const mail = { ...parseMail(raw), to: [user.email], envelopeFrom: '', raw, secure: false }
    expect(raw).toContain(`To: ${user.email}`)
    const { token } = readLink(mail, 'verify-email')
    const ok = await request(`${srv.url}/auth/email/verify`, { body: { token } })
    expect(ok.status).toBe(200)
    // Mail is never printed to the log.
    expect(srv.logger.text()).not.toContain(token)
  })

  it('reads SMTP_URL, MAIL_FROM, APP_URL and the outbox folder from the environment', () => {
    const plain = readServerConfig({ DATA_DIR: 'somewhere' })
    expect(plain.auth.mail?.outboxDir).toBe(join('somewhere', 'outbox'))
    expect(plain.auth.mail?.smtpUrl).toBeUndefined()
    const full = readServerConfig({
      SMTP_URL: 'smtps://user:pw@mail.example.com',
      MAIL_FROM: 'Auth <auth@example.com>',
      APP_URL: 'https://app.example.com/',
      EMAIL_VERIFY_TTL: '2d',
      PASSWORD_RESET_TTL: '30m',
    })
    expect(full.auth.mail).toMatchObject({
      smtpUrl: 'smtps://user:pw@mail.example.com',
      from: 'Auth <auth@example.com>',
    })
    expect(full.auth).toMatchObject({
      appUrl: 'https://app.example.com/',
      emailVerifyTtl: '2d',
      passwordResetTtl: '30m',
    })
    const wrong: [Record<string, string>, string][] = [
      [{ SMTP_URL: 'http://user:hunter2-secret@mail.example.com' }, 'SMTP_URL'],
      [{ SMTP_URL: 'not a url hunter2-secret' }, 'SMTP_URL'],
      [{ MAIL_FROM: 'nobody' }, 'MAIL_FROM'],
      [{ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }, 'MAIL_FROM'],
      [{ APP_URL: 'ftp://app.example.com' }, 'APP_URL'],
      [{ APP_URL: 'https://app.example.com/?x=1' }, 'APP_URL'],
      [{ PASSWORD_RESET_TTL: 'soon' }, 'PASSWORD_RESET_TTL'],
    ]
    for (const [env, setting] of wrong) {
      let caught: unknown
      try {
        readServerConfig(env)
      } catch (error) {
        caught = error
      }
      expect(caught, JSON.stringify(env)).toBeInstanceOf(ConfigError)
      expect((caught as ConfigError).setting).toBe(setting)
      // An SMTP URL may hold a password: the message never repeats it.
      expect((caught as ConfigError).message).not.toContain('hunter2')
    }
  })
})

describe('links', () => {
  it('points links at appUrl when set, whatever Host the request claims', async () => {
    const peer = await peerFor()
    const srv = await serverFor({ mail: { smtpUrl: peer.url }, appUrl: 'https://app.example.com/base/' })
    const user = await register(srv.url)
    const { link, token } = readLink(await peer.nextMail(user.email), 'verify-email')
    expect(link).toBe(`https://app.example.com/base/verify-email?token=${token}`)
  })

  it('sends no link built from a forged Host when appUrl is unset', async () => {
    const peer = await peerFor()
    const srv = await serverFor({ mail: { smtpUrl: peer.url }, rateLimit: false })
    const user = await register(srv.url)
    await peer.nextMail(user.email)
    // A plain foreign host, and hosts whose user-info part makes a naive reader see "localhost".
    const forged = [
      'evil.example',
      'localhost:@evil.example',
      'localhost@evil.example',
      '127.0.0.1:80@evil.example',
    ]
    for (const host of forged) {
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ email: user.email })
        const req = httpRequest(
          `${srv.url}/auth/password/reset/request`,
          {
            method: 'POST',
            headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          },
        )
        req.on('error', reject)
        req.end(body)
      })
      expect(status, host).toBe(200)
    }
    await srv.auth.flushMail()
    expect(peer.mails.filter((m) => m.to.includes(user.email))).toHaveLength(1)
    expect(peer.mails.some((m) => JSON.stringify(m).includes('evil.example'))).toBe(false)
    expect(srv.logger.lines.some((l) => l.level === 'warn' && l.msg?.includes('appUrl'))).toBe(true)
  })
})

describe('reset requests', () => {
  it('are limited per address and per IP, with Retry-After', async () => {
    const srv = await serverFor({
      mail: { outboxDir: join(tmpdir(), 'tokenpair-unused-outbox') },
      rateLimit: { register: false, resetRequestAddress: '2/1h', resetRequestIp: '4/1h' },
    })
    const ask = (email: string) => request(`${srv.url}/auth/password/reset/request`, { body: { email } })
    expect((await ask('someone@example.com')).status).toBe(200)
    expect((await ask('SOMEONE@example.com')).status).toBe(200)
    const third = await ask('someone@example.com')
    expect([third.status, third.body.code]).toEqual([429, 'rate_limited'])
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0)
    // Every request counts against the IP, the refused one too: this is the fourth.
    expect((await ask('other@example.com')).status).toBe(200)
    const overIp = await ask('third@example.com')
    expect([overIp.status, overIp.body.code]).toEqual([429, 'rate_limited'])
  })

  it('take about the same time for a known and an unknown address (medians)', async () => {
    const peer = await peerFor()
    const srv = await serverFor({ mail: { smtpUrl: peer.url }, rateLimit: false })
    const user = await register(srv.url)
    await peer.nextMail(user.email)
    // The client runs in its own process, as an attacker's would: in this one, its timer would
    // also count the server's background work (lookup, token, SMTP) sharing the event loop.
    const client = spawn(
      process.execPath,
      ['--input-type=module', '-e', TIMING_CLIENT, srv.url, user.email],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    cleanups.push(async () => {
      if (client.exitCode === null) client.kill()
    })
    const samples = { known: [] as number[], unknown: [] as number[] }
    for await (const line of createInterface({ input: client.stdout! })) {
      const sample = JSON.parse(line) as { kind: 'known' | 'unknown'; ms: number; status: number }
      expect(sample.status).toBe(200)
      samples[sample.kind].push(sample.ms)
      // Each sample alone: the background send of one request is not counted against the next.
      await srv.auth.flushMail()
      client.stdin!.write('next\n')
    }
    expect(samples.known).toHaveLength(TIMING_SAMPLES)
    expect(samples.unknown).toHaveLength(TIMING_SAMPLES)
    const known = median(samples.known)
    const unknown = median(samples.unknown)
    console.info(
      `reset request medians: known ${known.toFixed(2)} ms, unknown ${unknown.toFixed(2)} ms (${TIMING_SAMPLES} each)`,
    )
    expect(Math.abs(known - unknown)).toBeLessThan(10)
    // The known address got one mail per request (plus its verification mail), the others none.
    expect(peer.mails.filter((m) => m.to.includes(user.email)).length).toBe(TIMING_SAMPLES + 1)
    expect(peer.mails.length).toBe(TIMING_SAMPLES + 1)
  })
})
