import { describe, expect, it } from 'vitest'
import { hasDuplicateMemberNames, isCanonicalBase64url, isStrictCompactJWS } from './strict-jws.js'

const b64 = (text: string) => Buffer.from(text).toString('base64url')

describe('isCanonicalBase64url', () => {
  it('accepts canonical spellings and refuses padding, foreign characters and set unused bits', () => {
    for (const bytes of [1, 2, 3, 4, 31, 32, 64]) {
      expect(isCanonicalBase64url(Buffer.alloc(bytes, 0xff).toString('base64url'))).toBe(true)
    }
    expect(isCanonicalBase64url('AA')).toBe(true)
    expect(isCanonicalBase64url('AB')).toBe(false) // 12 bits for one byte: the last 4 must be 0
    expect(isCanonicalBase64url('AAB')).toBe(false) // 18 bits for two bytes: the last 2 must be 0
    expect(isCanonicalBase64url('AAE')).toBe(true)
    expect(isCanonicalBase64url('A')).toBe(false)
    expect(isCanonicalBase64url('AA==')).toBe(false)
    expect(isCanonicalBase64url('a+b/')).toBe(false)
  })
})

describe('hasDuplicateMemberNames', () => {
  it('finds duplicates at any depth, after unescaping, and ignores strings and arrays', () => {
    expect(hasDuplicateMemberNames('{"a":1,"b":2}')).toBe(false)
    expect(hasDuplicateMemberNames('{"a":1,"a":2}')).toBe(true)
    expect(hasDuplicateMemberNames('{"a":1,"\\u0061":2}')).toBe(true)
    expect(hasDuplicateMemberNames('{"x":{"a":1,"a":2}}')).toBe(true)
    expect(hasDuplicateMemberNames('{"x":{"a":1},"y":{"a":1}}')).toBe(false)
    expect(hasDuplicateMemberNames('{"a":["a","a"],"b":"a\\",\\"a"}')).toBe(false)
    expect(hasDuplicateMemberNames('{"a":[{"k":1},{"k":2}]}')).toBe(false)
  })
})

describe('isStrictCompactJWS', () => {
  const header = b64('{"alg":"HS256","typ":"at+jwt"}')
  const payload = b64('{"sub":"u"}')
  const signature = Buffer.alloc(32, 7).toString('base64url')
  it('accepts a well-formed token and refuses what is ambiguous or oversized', () => {
    expect(isStrictCompactJWS(`${header}.${payload}.${signature}`)).toBe(true)
    expect(isStrictCompactJWS(`${header}.${payload}.`)).toBe(false)
    expect(isStrictCompactJWS(`${header}.${payload}`)).toBe(false)
    expect(isStrictCompactJWS(`${header}.${b64('{"sub":"u","sub":"v"}')}.${signature}`)).toBe(false)
    expect(isStrictCompactJWS(`${header}.${b64('[1]')}.${signature}`)).toBe(false)
    expect(isStrictCompactJWS(`${header}.${b64('"text"')}.${signature}`)).toBe(false)
    expect(
      isStrictCompactJWS(`${header}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.${signature}`),
    ).toBe(false)
    expect(isStrictCompactJWS(`${header}.${b64(`{"p":"${'x'.repeat(9000)}"}`)}.${signature}`)).toBe(false)
  })
})
