import { describe, expect, it } from 'vitest'
import { hasDuplicateMemberNames, isCanonicalBase64url, readCompactJWS } from './jws-reader.js'

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
  const isStrictCompactJWS = (token: string) => readCompactJWS(token) !== null
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

describe('readCompactJWS', () => {
  const header = { alg: 'EdDSA', typ: 'dpop+jwt', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'abcd' } }
  const payload = { sub: 'use', n: [1, { a: 2 }] }
  const signature = Buffer.alloc(64, 9).toString('base64url')
  const h = b64(JSON.stringify(header))
  const p = b64(JSON.stringify(payload))
  const raw = (bytes: number[]) => Buffer.from(bytes).toString('base64url')
  const refused = (token: string) => expect(readCompactJWS(token), String(token).slice(0, 80)).toBeNull()

  it('returns the header, the payload, the signing input and the signature bytes, decoded once', () => {
    const jws = readCompactJWS(`${h}.${p}.${signature}`)
    expect(jws).toEqual({
      header,
      payload,
      signingInput: Buffer.from(`${h}.${p}`),
      signature: Buffer.alloc(64, 9),
    })
  })

  it('takes tokens up to 8192 characters, and refuses one more', () => {
    /** A well-formed token of exactly `length` characters. */
    const ofLength = (length: number) => {
      for (let pad = 0; ; pad++) {
        const start = `${h}.${b64(`{"p":"${'x'.repeat(pad)}"}`)}.`
        const rest = length - start.length
        if (rest >= 2 && rest % 4 !== 1) return `${start}${'A'.repeat(rest)}`
      }
    }
    expect(ofLength(8192)).toHaveLength(8192)
    expect(readCompactJWS(ofLength(8192))).not.toBeNull()
    expect(ofLength(8193)).toHaveLength(8193)
    refused(ofLength(8193))
    refused(42 as unknown as string)
  })

  it('refuses anything but three non-empty base64url segments', () => {
    refused(`${h}.${p}`)
    refused(`${h}.${p}.${signature}.${signature}`)
    refused(`.${p}.${signature}`)
    refused(`${h}..${signature}`)
    refused(`${h}.${p}.`)
    refused(`${h}.${p}.${signature}=`)
    refused(`${h}.${p}.${signature.slice(0, -4)}a+b/`)
    refused(`${h} .${p}.${signature}`)
    refused(` ${h}.${p}.${signature}`)
  })

  it('refuses non-canonical base64url in each segment', () => {
    const twin = (segment: string) => {
      const rest = segment.length % 4
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const last = alphabet.indexOf(segment.at(-1)!)
      return segment.slice(0, -1) + alphabet[last | (rest === 2 ? 0b1111 : 0b11)]
    }
    // Each twin decodes to the same bytes: only strictness can tell them apart.
    for (const segment of [h, p, signature]) {
      expect(segment.length % 4, segment).not.toBe(0)
      expect(Buffer.from(twin(segment), 'base64url')).toEqual(Buffer.from(segment, 'base64url'))
    }
    refused(`${twin(h)}.${p}.${signature}`)
    refused(`${h}.${twin(p)}.${signature}`)
    refused(`${h}.${p}.${twin(signature)}`)
    refused(`${h}.${p}.AAAAA`) // 4n + 1 characters: no byte count spells that
  })

  it('refuses a header or payload that is not UTF-8, or starts with a byte-order mark', () => {
    // {"a":"\xff"}: JSON once decoded, had the bad byte been replaced by U+FFFD.
    const badUTF8 = raw([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])
    expect(JSON.parse(Buffer.from(badUTF8, 'base64url').toString('utf8'))).toEqual({ a: '\ufffd' })
    refused(`${badUTF8}.${p}.${signature}`)
    refused(`${h}.${badUTF8}.${signature}`)
    const bom = raw([0xef, 0xbb, 0xbf, ...Buffer.from(JSON.stringify(payload))])
    refused(`${h}.${bom}.${signature}`)
    refused(`${bom}.${p}.${signature}`)
  })

  it('refuses a header or payload that is not a JSON object', () => {
    for (const text of ['[1]', '"text"', '42', 'null', 'true', '{"a":1', 'not json', '{"a":1}x']) {
      refused(`${b64(text)}.${p}.${signature}`)
      refused(`${h}.${b64(text)}.${signature}`)
    }
  })

  it('refuses duplicated member names in the header or the payload, at any depth', () => {
    refused(`${b64('{"alg":"EdDSA","alg":"none"}')}.${p}.${signature}`)
    refused(`${h}.${b64('{"sub":"a","s\\u0075b":"b"}')}.${signature}`)
    refused(`${h}.${b64('{"x":{"a":1,"a":2}}')}.${signature}`)
    expect(readCompactJWS(`${h}.${b64('{"x":{"a":1},"y":{"a":2}}')}.${signature}`)).not.toBeNull()
  })
})
