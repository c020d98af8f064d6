import { join } from 'node:path'
import { type Duration, MAX_TIMER_MS, resolveDuration } from '../common/duration.js'
import { ConfigError } from '../errors.js'
import { DEFAULT_MAIL_TEMPLATES, type MailTemplates } from './mail-templates.js'
import type { MailTransport } from './mail-transport.js'

/**
 * The `mail` option of `createAuth`. Mail goes to, in order of precedence: `transport`, SMTP at
 * `smtpUrl`, or `.eml` files in `outboxDir`.
 */
export interface MailOptions {
  /**
   * `SMTP_URL`: `smtp://user:pass@host:587` (STARTTLS, required to a host off this machine; add
   * `?requireTLS=false` to allow clear text to a relay of your own) or `smtps://user:pass@host:465`
   * (TLS from the start). Default:
   * unset, so mail is written into `outboxDir`.
   */
  smtpUrl?: string
  /** Where `.eml` files go when there is no `smtpUrl`. Default `./data/outbox` (of the working directory). */
  outboxDir?: string
  /** Your own transport; it wins over `smtpUrl` and `outboxDir`. */
  transport?: MailTransport
  /** `MAIL_FROM`: the sender, `addr@host` or `Name <addr@host>`. Default `tokenpair@localhost`. */
  from?: string
  /** Replacements for the default templates (see `mail-templates.ts`). Default: the built-in ones. */
  templates?: Partial<MailTemplates>
  /** Tries per mail before giving up (and logging it, without its link). Default `3`. */
  attempts?: number
  /** Wait before the second try; doubled before each further one. Default `2s`. */
  retryDelay?: Duration
  /** Longest wait for one try (connect, greeting, each reply). Default `10s`. */
  attemptTimeout?: Duration
  /** Mails waiting or in flight beyond which new ones are dropped (and logged). Default `1000`. */
  maxPending?: number
}

/** The defaults of {@link MailOptions}; the server's environment table shows them beside each variable. */
export const MAIL_DEFAULTS = Object.freeze({
  outboxDir: join('.', 'data', 'outbox'),
  from: 'tokenpair@localhost',
  attempts: 3,
  retryDelay: '2s',
  attemptTimeout: '10s',
  maxPending: 1000,
} as const satisfies Partial<Record<keyof MailOptions, unknown>>)

/** {@link MailOptions} with defaults applied, frozen. */
export interface ResolvedMailOptions {
  readonly transport: MailTransport | null
  readonly smtpUrl: string | null
  readonly outboxDir: string
  readonly from: string
  readonly templates: Readonly<MailTemplates>
  readonly attempts: number
  readonly retryDelayMs: number
  readonly attemptTimeoutMs: number
  readonly maxPending: number
}

function resolveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  range: [number, number],
): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
    throw new ConfigError(name, `must be an integer from ${range[0]} to ${range[1]}`)
  }
  return n
}

/** Checks an SMTP URL without ever echoing it: it may carry a password. */
function resolveSMTPUrl(value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('mail.smtpUrl', 'not a URL (use smtp://host:587 or smtps://host:465)')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError('mail.smtpUrl', 'must start with smtp:// or smtps://')
  }
  if (url.hostname === '') throw new ConfigError('mail.smtpUrl', 'names no host')
  return value
}

function resolveFrom(value: string | undefined): string {
  const from = value ?? MAIL_DEFAULTS.from
  // A line break in a header value would let it add headers of its own.
  if (!from.includes('@') || /[\r\n]/.test(from) || from.length > 320) {
    throw new ConfigError(
      'mail.from',
      'must be an address such as tokenpair@example.com or "Name <addr@host>"',
    )
  }
  return from
}

/**
 * Checks the `mail` option and applies its defaults. A wrong setting throws a `ConfigError` naming
 * it (`mail.smtpUrl`, `mail.from`, …).
 */
export function resolveMailOptions(options: MailOptions | undefined): ResolvedMailOptions {
  const mail = options ?? {}
  const templates: MailTemplates = { ...DEFAULT_MAIL_TEMPLATES }
  for (const key of Object.keys(DEFAULT_MAIL_TEMPLATES) as (keyof MailTemplates)[]) {
    const template = mail.templates?.[key]
    if (template === undefined) continue
    if (typeof template !== 'function') throw new ConfigError(`mail.templates.${key}`, 'must be a function')
    Object.assign(templates, { [key]: template })
  }
  if (mail.transport !== undefined && typeof mail.transport?.send !== 'function') {
    throw new ConfigError('mail.transport', 'must have send() and close()')
  }
  return Object.freeze({
    transport: mail.transport ?? null,
    smtpUrl: resolveSMTPUrl(mail.smtpUrl),
    outboxDir: mail.outboxDir ?? MAIL_DEFAULTS.outboxDir,
    from: resolveFrom(mail.from),
    templates: Object.freeze(templates),
    attempts: resolveInteger('mail.attempts', mail.attempts, MAIL_DEFAULTS.attempts, [1, 10]),
    // Both are timers: Node runs a longer delay after 1 ms.
    retryDelayMs: resolveDuration('mail.retryDelay', mail.retryDelay, MAIL_DEFAULTS.retryDelay, {
      max: MAX_TIMER_MS,
    }),
    attemptTimeoutMs: resolveDuration(
      'mail.attemptTimeout',
      mail.attemptTimeout,
      MAIL_DEFAULTS.attemptTimeout,
      {
        min: 100,
        max: MAX_TIMER_MS,
      },
    ),
    maxPending: resolveInteger('mail.maxPending', mail.maxPending, MAIL_DEFAULTS.maxPending, [1, 1_000_000]),
  })
}

/**
 * Checks `appUrl` (`APP_URL`): an http(s) URL, perhaps with a path, where the pages
 * `/verify-email` and `/reset-password` live. Returned without a trailing slash.
 */
export function resolveAppUrl(value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('appUrl', `not a URL: ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('appUrl', 'must be an http:// or https:// URL')
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'appUrl',
      'must be an origin with an optional path, without query, fragment or credentials',
    )
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}
