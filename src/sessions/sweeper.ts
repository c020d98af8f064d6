import type { AuthLogger } from '../common/logger.js'
import type { Storage, SweepOptions, SweepResult } from '../storage/storage.js'

/** A periodic sweep of expired rows. */
export interface Sweeper {
  /** Deletes what has expired now, and says how much. */
  sweepNow(): Promise<SweepResult>
  /** Stops the timer; a sweep under way finishes. */
  stop(): void
}

/** Deletes what `deleteExpired` does, then the expired challenges (login tickets, WebAuthn challenges). */
async function sweepAll(storage: Storage, now: number, options: SweepOptions): Promise<SweepResult> {
  const result = await storage.deleteExpired(now, options)
  return { ...result, challenges: await storage.factors.deleteExpiredChallenges(now) }
}

/**
 * Deletes dead sessions, expired refresh tokens and expired mail tokens every `intervalMs`
 * (`Storage.deleteExpired`), so that the tables hold live data and not one row per rotation
 * forever. The timer is unref'd: it never keeps a process alive. `intervalMs` 0 starts no timer.
 * A failed sweep is logged and tried again at the next tick; several instances sweeping the same
 * database do no harm (each deletes what is expired, twice is nothing).
 */
export function startSweeping(
  storage: Storage,
  intervalMs: number,
  logger: AuthLogger,
  options: SweepOptions = {},
): Sweeper {
  let running: Promise<SweepResult> | null = null
  const sweepNow = (): Promise<SweepResult> => {
    running ??= sweepAll(storage, Date.now(), options).finally(() => {
      running = null
    })
    return running
  }
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          sweepNow().then(
            (result) => {
              const { sessions, refreshTokens, emailTokens, sealedSuccessors } = result
              if (sessions + refreshTokens + emailTokens + sealedSuccessors + (result.challenges ?? 0) > 0) {
                logger.info({ sweep: result }, 'deleted expired sessions and tokens')
              }
            },
            (error: unknown) => {
              logger.warn(
                { err: error instanceof Error ? error.message : String(error) },
                'sweep of expired rows failed',
              )
            },
          )
        }, intervalMs)
      : null
  timer?.unref()
  return {
    sweepNow,
    stop() {
      if (timer) clearInterval(timer)
    },
  }
}
