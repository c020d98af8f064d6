import { describe, expect, it } from 'vitest'
import { DPoPNonces } from './dpop-nonce.js'

describe('DPoPNonces', () => {
  const key = Buffer.alloc(32, 7)
  const nonces = new DPoPNonces(key, { windowMs: 1000 })

  it('accepts the nonce of this window and of the one before, no older one', () => {
    const nonce = nonces.current(10_500)
    expect(nonces.accepts(nonce, 10_999)).toBe(true)
    expect(nonces.accepts(nonce, 11_999)).toBe(true)
    expect(nonces.accepts(nonce, 12_000)).toBe(false)
    expect(nonces.current(11_000)).not.toBe(nonce)
  })

  it('refuses a nonce of another key, a mangled one and a non-string', () => {
    const nonce = nonces.current(5000)
    expect(new DPoPNonces(Buffer.alloc(32, 8), { windowMs: 1000 }).accepts(nonce, 5000)).toBe(false)
    const flipped = `${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}`
    expect(nonces.accepts(flipped, 5000)).toBe(false)
    expect(nonces.accepts(undefined, 5000)).toBe(false)
    expect(nonces.accepts(42, 5000)).toBe(false)
  })
})
