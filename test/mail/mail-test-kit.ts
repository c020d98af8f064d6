import { EventEmitter, once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { SMTPServer, type SMTPServerSession } from 'smtp-server'
import { type Auth, createAuth } from '../../src/auth.js'
import type { AuthLogger } from '../../src/common/logger.js'
import type { AuthOptions } from '../../src/config/options.js'
import { createServerApp } from '../../src/server/app.js'
import { serve } from '../helpers/serve.js'
import { TEST_SECRET } from '../helpers/test-server.js'

/** One message as the SMTP peer received it, with its bodies decoded. */
export interface ReceivedMail {
  envelopeFrom: string
  to: string[]
  raw: string
  /** Whether the SMTP session ran over TLS. */
  secure: boolean
  subject: string
  from: string
  text: string
  html: string
}

/** A real SMTP server on loopback (the `smtp-server` package), keeping what it receives. */
export interface SMTPPeer {
  port: number
  /** `smtp://127.0.0.1:port` (or `smtps://…` for a TLS peer, certificate check off: its cert is self-signed). */
  url: string
  mails: ReceivedMail[]
  /** The next unread mail to `address`; rejects after `timeoutMs` (a bound, not a sleep). */
  nextMail(address: string, timeoutMs?: number): Promise<ReceivedMail>
  /** Refuses the next `count` messages with `code` and `reply(raw)` as its text. */
  refuseNext(count: number, code: number, reply?: (raw: string) => string): void
  close(): Promise<void>
}

function unfoldHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>()
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim())
  }
  return headers
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
    case 'quoted-printable': {
      const text = body.replace(/=\r?\n/g, '')
      const bytes: number[] = []
      for (let i = 0; i < text.length; i++) {
        const hex = text.slice(i + 1, i + 3)
        if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
          bytes.push(Number.parseInt(hex, 16))
          i += 2
        } else bytes.push(...Buffer.from(text[i]!, 'utf8'))
      }
      return Buffer.from(bytes).toString('utf8')
    }
    default:
      return body
  }
}

function decodeHeaderWord(value: string): string {
  return value.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
  )
}

/** Splits a MIME message into its leaf parts: enough of MIME for nodemailer's output. */
function leafParts(raw: string): { type: string; body: string }[] {
  const split = raw.search(/\r?\n\r?\n/)
  const head = raw.slice(0, split)
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '')
  const headers = unfoldHeaders(head)
  const type = headers.get('content-type') ?? 'text/plain'
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .flatMap((part) => leafParts(part.replace(/^\r?\n/, '')))
  }
  return [
    {
      type: type.split(';')[0]!.trim().toLowerCase(),
      body: decodeBody(body, headers.get('content-transfer-encoding')),
    },
  ]
}

/** Reads the headers and bodies a user would see. */
export function parseMail(raw: string): Pick<ReceivedMail, 'subject' | 'from' | 'text' | 'html'> {
  const headers = unfoldHeaders(raw.slice(0, raw.search(/\r?\n\r?\n/)))
  const parts = leafParts(raw)
  return {
    subject: decodeHeaderWord(headers.get('subject') ?? ''),
    from: headers.get('from') ?? '',
    text: parts.find((p) => p.type === 'text/plain')?.body ?? '',
    html: parts.find((p) => p.type === 'text/html')?.body ?? '',
  }
}

/** The token of the first `/verify-email` or `/reset-password` link in a mail's text, and the link. */
export function readLink(
  mail: ReceivedMail,
  page: 'verify-email' | 'reset-password',
): { link: string; token: string } {
  const match = new RegExp(`(\\S+/${page}\\?token=([A-Za-z0-9_-]+))`).exec(mail.text)
  if (!match) throw new Error(`no ${page} link in the mail`)
  return { link: match[1]!, token: match[2]! }
}

/** Starts a real SMTP peer on 127.0.0.1 (a random port). */
export async function startSMTPPeer(
  options: { secure?: boolean; acceptDelayMs?: number } = {},
): Promise<SMTPPeer> {
  const mails: ReceivedMail[] = []
  const arrivals = new EventEmitter()
  let refusals: { count: number; code: number; reply?: (raw: string) => string } = { count: 0, code: 451 }
  const server = new SMTPServer({
    secure: options.secure === true,
    authOptional: true,
    // The plain peer offers no STARTTLS: its certificate is self-signed and nodemailer would refuse it.
    disabledCommands: options.secure ? ['AUTH'] : ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        if (refusals.count > 0) {
          refusals.count--
          const error = Object.assign(new Error(refusals.reply?.(raw) ?? 'try again later'), {
            responseCode: refusals.code,
          })
          callback(error)
          return
        }
        const finish = () => {
          const mail: ReceivedMail = {
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            secure: session.secure,
            ...parseMail(raw),
          }
          mails.push(mail)
          arrivals.emit('mail', mail)
          callback()
        }
        if (options.acceptDelayMs) setTimeout(finish, options.acceptDelayMs)
        else finish()
      })
    },
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const port = (server.server.address() as AddressInfo).port
  const read = new Set<ReceivedMail>()
  return {
    port,
    url: options.secure
      ? `smtps://127.0.0.1:${port}/?tls.rejectUnauthorized=false`
      : `smtp://127.0.0.1:${port}`,
    mails,
    async nextMail(address, timeoutMs = 10_000) {
      const wanted = address.toLowerCase()
      const take = () => mails.find((m) => !read.has(m) && m.to.includes(wanted))
      const found = take()
      if (found) {
        read.add(found)
        return found
      }
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          arrivals.off('mail', onMail)
          reject(new Error(`no mail to ${address} within ${timeoutMs} ms`))
        }, timeoutMs)
        function onMail(): void {
          const mail = take()
          if (!mail) return
          read.add(mail)
          clearTimeout(timer)
          arrivals.off('mail', onMail)
          resolve(mail)
        }
        arrivals.on('mail', onMail)
      })
    },
    refuseNext(count, code, reply) {
      refusals = reply ? { count, code, reply } : { count, code }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A logger that keeps every line, to check what reached the log. */
export interface MemoryLogger extends AuthLogger {
  lines: { level: string; obj: object; msg: string | undefined }[]
  /** Every line as one text, for "no secret appears" checks. */
  text(): string
}

export function createMemoryLogger(): MemoryLogger {
  const lines: MemoryLogger['lines'] = []
  const push = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg })
  }
  return {
    lines,
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    text: () => lines.map((l) => `${l.level} ${JSON.stringify(l.obj)} ${l.msg ?? ''}`).join('\n'),
  }
}

/** The real app, with one extra route that needs a verified address, on a loopback port. */
export interface MailTestServer {
  url: string
  auth: Auth
  logger: MemoryLogger
  close(): Promise<void>
}

/**
 * Starts createAuth + the server's Express app on 127.0.0.1:0, plus `GET /api/verified` behind
 * `requireAuth({ verifiedEmail: true })`. Registration is not rate-limited here (many users come
 * from one loopback address); each test names the limits it checks.
 */
export async function startMailTestServer(options: Partial<AuthOptions> = {}): Promise<MailTestServer> {
  const logger = createMemoryLogger()
  const auth = await createAuth({
    database: 'sqlite::memory:',
    secret: TEST_SECRET,
    logger,
    rateLimit: { register: false },
    ...options,
  })
  const app = express()
  app.get('/api/verified', auth.requireAuth({ verifiedEmail: true }), (req, res) => {
    res.json({ userId: req.auth!.userId })
  })
  app.use(createServerApp(auth))
  const served = await serve(app)
  return {
    url: served.url,
    auth,
    logger,
    async close() {
      await served.close()
      await auth.close()
    },
  }
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
