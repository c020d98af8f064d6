import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTransport } from 'nodemailer'
import { isLoopbackHost } from '../internal/loopback.js'

/** One message as a transport receives it. */
export interface MailMessage {
  from: string
  to: string
  subject: string
  text: string
  html: string
}

/**
 * Where mail goes: SMTP ({@link createSMTPTransport}), the outbox folder
 * ({@link createOutboxTransport}), or your own (the `mail.transport` option of `createAuth`).
 */
export interface MailTransport {
  /** What it is, for the log line at start: never holds a password. */
  readonly description: string
  /** Delivers one message; rejects when it cannot (tokenpair retries a bounded number of times). */
  send(message: MailMessage): Promise<void>
  /** Releases connections. Called once, by `auth.close()`. */
  close(): Promise<void>
}

/** Options of {@link createSMTPTransport}. */
export interface SMTPTransportOptions {
  /** Longest wait, in milliseconds, for connecting, the greeting and each reply. */
  timeoutMs: number
}

/**
 * The nodemailer options of an SMTP URL. `smtps://` speaks TLS from the first byte. `smtp://`
 * upgrades with STARTTLS, and to a host off this machine it *requires* the upgrade: a server (or a
 * man in the middle) that does not offer STARTTLS gets no mail, so that a stripped STARTTLS cannot
 * turn credentials and reset links into clear text. `?requireTLS=false` in the URL opts out, for a
 * relay on a private network that speaks no TLS; to a loopback host the upgrade is optional.
 */
export function smtpTransportOptions(
  smtpUrl: string,
  options: SMTPTransportOptions,
): Record<string, unknown> {
  const url = new URL(smtpUrl)
  const optedOut = url.searchParams.get('requireTLS') === 'false'
  return {
    url: smtpUrl,
    // The URL's own parameters win over these (nodemailer merges them last).
    requireTLS: url.protocol === 'smtp:' && !optedOut && !isLoopbackHost(url.hostname),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  }
}

/**
 * Sends over SMTP with nodemailer (see {@link smtpTransportOptions} for TLS). Credentials go in the
 * URL: `smtp://user:pass@host:587`.
 *
 * @example
 * ```ts
 * const transport = createSMTPTransport('smtps://mailer:secret@smtp.example.com', { timeoutMs: 10_000 })
 * ```
 */
export function createSMTPTransport(smtpUrl: string, options: SMTPTransportOptions): MailTransport {
  const transporter = createTransport(smtpTransportOptions(smtpUrl, options))
  const url = new URL(smtpUrl)
  return {
    // Scheme, host and port only: the URL may carry a password.
    description: `${url.protocol}//${url.host}`,
    async send(message) {
      await transporter.sendMail(message)
    },
    async close() {
      transporter.close()
    },
  }
}

/**
 * Writes each message as an `.eml` file into `dir` (created on first use, mode 0700; files 0600,
 * since they hold live links). For development without an SMTP server: open the file, follow the link.
 *
 * @example
 * ```ts
 * const transport = createOutboxTransport('./data/outbox')
 * ```
 */
export function createOutboxTransport(dir: string): MailTransport {
  const transporter = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    description: `outbox ${dir}`,
    async send(message) {
      const info = await transporter.sendMail(message)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const name = `${stamp}-${randomBytes(6).toString('hex')}.eml`
      await writeFile(join(dir, name), info.message as Buffer, { mode: 0o600, flag: 'wx' })
    },
    async close() {
      transporter.close()
    },
  }
}
