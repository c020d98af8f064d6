import type { AuthLogger } from '../common/logger.js'

/** The kinds of security event tokenpair reports. */
export const SECURITY_EVENT_TYPES = [
  'user_registered',
  'login_succeeded',
  'login_failed',
  'session_created',
  'token_refreshed',
  'refresh_grace',
  'refresh_reused',
  'refresh_unbound',
  'session_revoked',
  'password_changed',
  'mfa_enabled',
  'mfa_disabled',
  'mfa_reset',
  'passkey_added',
  'passkey_removed',
] as const

/** One of {@link SECURITY_EVENT_TYPES}. */
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number]

/**
 * Something an operator may want to act on. Never holds a password, a hash or a token: only ids,
 * so that an event can go to a log, a webhook or a SIEM as it is.
 */
export interface SecurityEvent {
  type: SecurityEventType
  /** ISO 8601 UTC time of the event. */
  at: string
  /** The user concerned, where known (not for a failed login of an unknown name). */
  userId?: string
  /** The session concerned, where known. */
  sessionId?: string
  /** Why a session ended (`session_revoked`), e.g. `logout`, `reuse_detected`. */
  reason?: string
  /** How many sessions ended, when one event stands for several (`logout_all`). */
  count?: number
  /** The client's IP address, where known. */
  ip?: string
}

/** A listener of security events. It may be async; its failures are logged, never thrown. */
export type SecurityEventListener = (event: SecurityEvent) => void | Promise<void>

/** What a caller passes to {@link EventBus.emit}: everything but the time, which the bus adds. */
export type SecurityEventInput = Omit<SecurityEvent, 'at'>

/**
 * Delivers security events to their listeners and writes one log line for each. Emitting never
 * blocks the request and never throws: a slow or broken listener must not fail a login.
 */
export class EventBus {
  readonly #listeners = new Set<SecurityEventListener>()
  readonly #logger: AuthLogger

  constructor(logger: AuthLogger) {
    this.#logger = logger
  }

  /**
   * Adds a listener; returns a function that removes it.
   *
   * @example
   * ```ts
   * const stop = auth.events.subscribe((e) => { if (e.type === 'refresh_reused') alert(e) })
   * ```
   */
  subscribe(listener: SecurityEventListener): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** Logs the event and hands it to every listener. Returns at once. */
  emit(input: SecurityEventInput): void {
    const event: SecurityEvent = { ...input, at: new Date().toISOString() }
    const level = event.type === 'refresh_reused' ? 'warn' : 'info'
    this.#logger[level]({ event: event.type, ...withoutType(event) }, `security event ${event.type}`)
    for (const listener of this.#listeners) {
      try {
        const result = listener(event)
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(error, event))
      } catch (error) {
        this.#report(error, event)
      }
    }
  }

  #report(error: unknown, event: SecurityEvent): void {
    this.#logger.error({ err: error, event: event.type }, 'security event listener failed')
  }
}

function withoutType(event: SecurityEvent): Omit<SecurityEvent, 'type'> {
  const { type: _type, ...rest } = event
  return rest
}
