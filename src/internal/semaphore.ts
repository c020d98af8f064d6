/** A counting semaphore: at most `limit` holders at once, the rest wait in arrival order. */
export interface Semaphore {
  /** Runs `work` once a slot is free, and frees the slot when it settles. */
  run<T>(work: () => Promise<T>): Promise<T>
}

/** Creates a {@link Semaphore} with `limit` slots (at least 1). */
export function createSemaphore(limit: number): Semaphore {
  const slots = Math.max(1, Math.floor(limit))
  let held = 0
  const waiting: (() => void)[] = []
  const release = () => {
    const next = waiting.shift()
    if (next) next()
    else held--
  }
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (held < slots) held++
      // The slot is handed over by release(), so `held` stays counted for the next holder.
      else await new Promise<void>((resolve) => waiting.push(resolve))
      try {
        return await work()
      } finally {
        release()
      }
    },
  }
}
