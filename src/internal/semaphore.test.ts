import { describe, expect, it } from 'vitest'
import { createSemaphore } from './semaphore.js'

describe('createSemaphore', () => {
  it('never lets more than the limit run at once, and runs every job in arrival order', async () => {
    const semaphore = createSemaphore(2)
    let running = 0
    let peak = 0
    const started: number[] = []
    const jobs = Array.from({ length: 7 }, (_, i) =>
      semaphore.run(async () => {
        started.push(i)
        running++
        peak = Math.max(peak, running)
        await new Promise((resolve) => setTimeout(resolve, 5))
        running--
        return i
      }),
    )
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(peak).toBe(2)
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('frees the slot of a job that fails', async () => {
    const semaphore = createSemaphore(1)
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await semaphore.run(async () => 'next')).toBe('next')
  })
})
