/** Refresh this far before expiry at most, and never earlier than 80% into the token's life. */
const MAX_LEAD_MS = 30_000
const LEAD_FRACTION = 0.2
const MAX_TIMER_MS = 2_147_483_647

function isHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden'
}

/** When the token is due, as {@link RefreshTimer} asks for it each time it schedules. */
export interface RefreshDue {
  /** When the access token expires, server clock (ms). */
  expiresAt: number
  /** The token's lifetime, ms. */
  lifetimeMs: number
  /** The server's clock now (ms). */
  serverNow: number
}

/** Options of {@link RefreshTimer}. */
export interface RefreshTimerOptions {
  /** The token to schedule for, or `null` when there is nothing to refresh ahead of time. */
  readDue: () => RefreshDue | null
  /** Called when the token is due and the tab is visible. */
  onDue: () => void
}

/**
 * The proactive refresh: a timer shortly before the access token expires. A background tab waits,
 * and refreshes when it becomes visible again (or when it next makes a request).
 */
export class RefreshTimer {
  readonly #options: RefreshTimerOptions
  #timer: ReturnType<typeof setTimeout> | null = null
  #waitingForVisible = false
  #closed = false
  readonly #onVisibility = (): void => {
    if (isHidden() || !this.#waitingForVisible) return
    this.#waitingForVisible = false
    this.schedule()
  }

  constructor(options: RefreshTimerOptions) {
    this.#options = options
  }

  /** Starts listening for the tab becoming visible (browsers only). */
  watchVisibility(): void {
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.#onVisibility)
  }

  /** (Re)starts the timer for the token `readDue` names. */
  schedule(): void {
    this.clear()
    const due = this.#options.readDue()
    if (this.#closed || due === null) return
    const lead = Math.min(MAX_LEAD_MS, due.lifetimeMs * LEAD_FRACTION)
    const delay = Math.min(Math.max(due.expiresAt - lead - due.serverNow, 0), MAX_TIMER_MS)
    this.#timer = setTimeout(() => this.#fire(), delay)
    // In Node, a pending refresh must not keep the process alive on its own.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  close(): void {
    this.#closed = true
    this.clear()
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.#onVisibility)
  }

  #fire(): void {
    this.#timer = null
    if (this.#closed || this.#options.readDue() === null) return
    // A background tab waits: it refreshes when it becomes visible or makes a request.
    if (isHidden()) {
      this.#waitingForVisible = true
      return
    }
    this.#options.onDue()
  }
}
