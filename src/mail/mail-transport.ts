import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTransport } from 'nodemailer'

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
 * Sends over SMTP with nodemailer. `smtps://` speaks TLS from the first byte (port 465 by default);
 * `smtp://` upgrades with STARTTLS whenever the server offers it, and `?requireTLS=true` refuses to
 * send when it does not. Credentials go in the URL: `smtp://user:pass@host:587`.
 *
 * @example
 * ```ts
 * const transport = createSMTPTransport('smtps://mailer:secret@smtp.example.com', { timeoutMs: 10_000 })
 * ```
 */
export function createSMTPTransport(smtpUrl: string, options: SMTPTransportOptions): MailTransport {
  const transporter = createTransport({
    url: smtpUrl,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  })
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
