import { createHmac } from 'node:crypto'
import type { AuthLogger } from '../common/logger.js'
import type { SecurityEvent, SecurityEventListener, SecurityEventType } from './events.js'

/** Options of {@link createWebhookListener}. */
export interface WebhookOptions {
  /** Where to `POST` the event as JSON (`EVENTS_WEBHOOK_URL`). */
  url: string
  /** Which events to send. Default: `refresh_reused` only. */
  types?: readonly SecurityEventType[]
  /** Time allowed for one attempt, in ms. Default 5000. */
  timeoutMs?: number
  /** Attempts after the first one fails. Default 2. */
  retries?: number
  /** Pause before the first retry, doubled for each next one, in ms. Default 500. */
  backoffMs?: number
  /** Where delivery failures are logged. */
  logger?: AuthLogger
  /**
   * `EVENTS_WEBHOOK_SECRET`: signs each body, so that the receiver can tell our events from
   * forged ones. Each attempt carries `X-Tokenpair-Signature: t=<unix seconds>,v1=<hex
   * HMAC-SHA256 of "<t>.<body>">` (see {@link signWebhookBody}). Default: unsigned.
   */
  secret?: string
}

/** Shortest signing secret accepted: 32 characters, as for every other secret of tokenpair. */
const MIN_SECRET_LENGTH = 32

/**
 * The `X-Tokenpair-Signature` of `body` at `time` (epoch ms): `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>">`. A receiver recomputes it, compares in constant time and refuses
 * a `t` older than a few minutes, which stops replays of a captured delivery.
 *
 * @example
 * ```ts
 * const expected = signWebhookBody(secret, rawBody, Number(t) * 1000)
 * ```
 */
export function signWebhookBody(secret: string, body: string, time: number): string {
  const t = Math.floor(time / 1000)
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`
}

/**
 * A security-event listener that `POST`s events to a URL, so that a team can act on a stolen
 * refresh token. Delivery runs in the background: bounded by a timeout per attempt and a number
 * of retries, it never delays or fails the request that raised the event. A 2xx answer counts as
 * delivered; anything else (or no answer) is retried, then logged and dropped.
 *
 * @example
 * ```ts
 * auth.events.subscribe(createWebhookListener({ url: 'https://hooks.example.com/tokenpair' }))
 * ```
 */
export function createWebhookListener(options: WebhookOptions): SecurityEventListener {
  const url = new URL(options.url)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('webhook url must be http(s)')
  }
  if (options.secret !== undefined && options.secret.length < MIN_SECRET_LENGTH) {
    throw new TypeError(`webhook secret must be at least ${MIN_SECRET_LENGTH} characters`)
  }
  const secret = options.secret ?? null
  const types = new Set<SecurityEventType>(options.types ?? ['refresh_reused'])
  const timeoutMs = options.timeoutMs ?? 5000
  const retries = options.retries ?? 2
  const backoffMs = options.backoffMs ?? 500
  return function sendWebhook(event: SecurityEvent): void {
    if (!types.has(event.type)) return
    void deliver(url, event, { timeoutMs, retries, backoffMs, secret }).then((delivered) => {
      // The URL may carry a token in its query: log only its origin.
      if (!delivered) options.logger?.warn({ event: event.type, to: url.origin }, 'webhook delivery failed')
    })
  }
}

async function deliver(
  url: URL,
  event: SecurityEvent,
  limits: { timeoutMs: number; retries: number; backoffMs: number; secret: string | null },
): Promise<boolean> {
  const body = JSON.stringify(event)
  for (let attempt = 0; attempt <= limits.retries; attempt++) {
    if (attempt > 0) await pause(limits.backoffMs * 2 ** (attempt - 1))
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'tokenpair-webhook',
    }
    // Signed per attempt, so that a retry carries a fresh time.
    if (limits.secret !== null)
      headers['x-tokenpair-signature'] = signWebhookBody(limits.secret, body, Date.now())
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(limits.timeoutMs),
        redirect: 'manual',
      })
      await res.body?.cancel()
      if (res.ok) return true
    } catch {
      // A network error or a timeout: retried below, like a non-2xx answer.
    }
  }
  return false
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
