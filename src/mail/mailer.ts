import type { AuthLogger } from '../common/logger.js'
import type { ResolvedMailOptions } from './mail-options.js'
import { createOutboxTransport, createSMTPTransport, type MailTransport } from './mail-transport.js'

/** Which mail, for log lines (never the link or the address). */
export type MailKind = 'verify_email' | 'reset_password' | 'security_notice'

/** A mail to send, and the strings that must never reach a log line (the token, the link). */
export interface ComposedMail {
  to: string
  subject: string
  text: string
  html: string
  /** Removed from any error text before it is logged. */
  secrets: readonly string[]
}

/** What a background job does: compose a mail (or decide there is none), for the {@link Mailer} to send. */
export type MailJob = () => Promise<ComposedMail | null>

/** Replaces each secret in `text` so that a transport's error message cannot leak a link. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret !== '') out = out.split(secret).join('[redacted]')
  return out
}

function describeError(error: unknown, secrets: readonly string[]): Record<string, unknown> {
  const e = error as { name?: unknown; code?: unknown; responseCode?: unknown; message?: unknown }
  return {
    error: redact(typeof e?.message === 'string' ? e.message : String(error), secrets),
    errorName: typeof e?.name === 'string' ? e.name : undefined,
    errorCode: typeof e?.code === 'string' ? e.code : undefined,
    responseCode: typeof e?.responseCode === 'number' ? e.responseCode : undefined,
  }
}

/**
 * Sends mail in the background: a request queues a job and answers at once, so a slow or dead
 * mail server never slows or fails it. Each mail is tried `attempts` times with a growing wait,
 * each try bounded by `attemptTimeoutMs`; a mail that still fails is logged without its link and
 * dropped, and the user can ask again. `close()` stops the retries and waits for tries in flight.
 */
export class Mailer {
  readonly #options: ResolvedMailOptions
  readonly #logger: AuthLogger
  readonly #transport: MailTransport
  readonly #pending = new Set<Promise<void>>()
  readonly #shutdown = new AbortController()
  #closed: Promise<void> | null = null

  constructor(options: ResolvedMailOptions, logger: AuthLogger) {
    this.#options = options
    this.#logger = logger
    this.#transport =
      options.transport ??
      (options.smtpUrl !== null
        ? createSMTPTransport(options.smtpUrl, { timeoutMs: options.attemptTimeoutMs })
        : createOutboxTransport(options.outboxDir))
  }

  /** What the transport is (`smtps://host:465`, `outbox ./data/outbox`), without credentials. */
  get description(): string {
    return this.#transport.description
  }

  /** Whether mail goes into the outbox folder rather than to a server. */
  get writesOutbox(): boolean {
    return this.#options.transport === null && this.#options.smtpUrl === null
  }

  /**
   * Runs `job` after the current request has been answered and sends the mail it composes. Never
   * throws: a job refused (shutting down, too many pending) or failed is logged.
   */
  dispatch(kind: MailKind, job: MailJob): void {
    if (this.#closed !== null) {
      this.#logger.warn({ mail: kind }, 'mail not sent: shutting down')
      return
    }
    if (this.#pending.size >= this.#options.maxPending) {
      this.#logger.warn({ mail: kind, pending: this.#pending.size }, 'mail not sent: too many mails pending')
      return
    }
    // #run logs its own failures; the catch only keeps a throwing logger from becoming an unhandled rejection.
    const run = this.#run(kind, job)
      .catch(() => {})
      .finally(() => this.#pending.delete(run))
    this.#pending.add(run)
  }

  /** Resolves once every mail queued so far, and any queued meanwhile, was sent or given up. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }

  /** Stops accepting mail, cancels waits between retries, waits for tries in flight, closes the transport. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#shutdown.abort()
      await this.flush()
      await this.#transport.close()
    })()
    return this.#closed
  }

  async #run(kind: MailKind, job: MailJob): Promise<void> {
    // Let the response that queued this job go out first.
    await new Promise<void>((resolve) => setImmediate(resolve))
    let mail: ComposedMail | null
    try {
      mail = await job()
    } catch (error) {
      this.#logger.error({ mail: kind, ...describeError(error, []) }, 'mail not sent: could not prepare it')
      return
    }
    if (mail === null) return
    const message = {
      from: this.#options.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
    }
    const { attempts } = this.#options
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.#sendWithTimeout(message)
        return
      } catch (error) {
        // The recipient too: an SMTP refusal often quotes the address.
        const details = { mail: kind, attempt, attempts, ...describeError(error, [...mail.secrets, mail.to]) }
        if (attempt === attempts || this.#shutdown.signal.aborted) {
          this.#logger.error(details, 'mail not sent: giving up; the user can ask again')
          return
        }
        this.#logger.warn(details, 'mail not sent: will retry')
        await this.#waitBeforeRetry(this.#options.retryDelayMs * 2 ** (attempt - 1))
        if (this.#shutdown.signal.aborted) {
          this.#logger.error({ mail: kind, attempt }, 'mail not sent: shutting down before retry')
          return
        }
      }
    }
  }

  async #sendWithTimeout(message: Parameters<MailTransport['send']>[0]): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('mail transport did not answer in time')),
        this.#options.attemptTimeoutMs,
      )
    })
    try {
      await Promise.race([this.#transport.send(message), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  #waitBeforeRetry(ms: number): Promise<void> {
    const signal = this.#shutdown.signal
    if (signal.aborted) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
    })
  }
}
