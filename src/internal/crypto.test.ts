import { describe, expect, it } from 'vitest'
import { deriveKey, seal, sha256Hex, unseal } from './crypto.js'

describe('seal / unseal', () => {
  const key = deriveKey('a'.repeat(40), 'test')

  it('round-trips', () => {
    expect(unseal(key, seal(key, 'private jwk', 'kid-1'), 'kid-1')).toBe('private jwk')
  })

  it('refuses another key, another context and a tampered value', () => {
    const sealed = seal(key, 'private jwk', 'kid-1')
    expect(() => unseal(deriveKey('b'.repeat(40), 'test'), sealed, 'kid-1')).toThrow()
    expect(() => unseal(key, sealed, 'kid-2')).toThrow()
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`
    expect(() => unseal(key, tampered, 'kid-1')).toThrow()
    expect(() => unseal(key, 'v0.garbage', 'kid-1')).toThrow()
  })

  it('derives distinct keys per purpose', () => {
    expect(deriveKey('s'.repeat(40), 'one').equals(deriveKey('s'.repeat(40), 'two'))).toBe(false)
  })

  it('hashes as hex SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
