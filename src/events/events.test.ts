import { describe, expect, it } from 'vitest'
import { EventBus, type SecurityEvent } from './events.js'

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = []
  const log = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } }
}

describe('EventBus', () => {
  it('logs each event, stamps its time, and hands it to every listener', () => {
    const { lines, logger } = recordingLogger()
    const bus = new EventBus(logger)
    const seen: SecurityEvent[] = []
    const stop = bus.subscribe((e) => {
      seen.push(e)
    })
    bus.emit({ type: 'refresh_reused', userId: 'u1', sessionId: 's1' })
    stop()
    bus.emit({ type: 'login_failed', ip: '127.0.0.1' })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ type: 'refresh_reused', userId: 'u1', sessionId: 's1' })
    expect(Date.parse(seen[0]!.at)).not.toBeNaN()
    expect(lines.map((l) => [l.level, l.obj.event])).toEqual([
      ['warn', 'refresh_reused'],
      ['info', 'login_failed'],
    ])
  })

  it('never lets a failing listener throw into the request, and logs the failure', async () => {
    const { lines, logger } = recordingLogger()
    const bus = new EventBus(logger)
    const later: SecurityEvent[] = []
    bus.subscribe(() => {
      throw new Error('listener bug')
    })
    bus.subscribe(async () => {
      throw new Error('async listener bug')
    })
    bus.subscribe((e) => {
      later.push(e)
    })
    expect(() => bus.emit({ type: 'login_succeeded', userId: 'u1' })).not.toThrow()
    await new Promise((resolve) => setImmediate(resolve))
    expect(later).toHaveLength(1)
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2)
  })
})
