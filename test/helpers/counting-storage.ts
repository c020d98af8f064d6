import type { Storage } from '../../src/storage/storage.js'

/**
 * A real storage whose calls of the named methods are counted: proves that a request was answered
 * before (or without) the database, or that a cache spared a read.
 *
 * @example
 * ```ts
 * const counted = countStorageCalls(await openStorage('sqlite::memory:'), ['findSession'])
 * counted.calls() // 0
 * ```
 */
export function countStorageCalls(
  storage: Storage,
  methods: readonly (keyof Storage)[],
): { storage: Storage; calls: () => number } {
  let calls = 0
  const counted = new Set<PropertyKey>(methods)
  const proxy = new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      const fn = value as (...args: unknown[]) => unknown
      if (!counted.has(property)) return fn.bind(target)
      return (...args: unknown[]) => {
        calls++
        return fn.apply(target, args)
      }
    },
  })
  return { storage: proxy, calls: () => calls }
}
