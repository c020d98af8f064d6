/*
 * The one reader of compact JWS (RFC 7515 §7.1): every token that comes in, of any kind, is split,
 * checked and decoded here once, before any crypto, and the signature check and the claim checks
 * work on what it returns. It refuses what is ambiguous (RFC 8725 §3.11, §3.12 spirit), in two
 * places where jose is lenient and an attacker can use it:
 *
 * - base64url with set "unused" low bits decodes to the same bytes as the canonical form, so one
 *   signed token would have many spellings (each a different string, hash and cache key);
 * - duplicated JSON member names (`{"sub":"a","sub":"b"}`) are accepted with the last one winning,
 *   while another parser may take the first (RFC 7515 §5.2 lets us refuse them; we do).
 *
 * It knows nothing of our token kinds: a header is any JSON object (a DPoP proof's carries a
 * `jwk`), a payload any JSON object.
 */

/** Largest token accepted, in characters, before anything else is looked at. */
export const MAX_TOKEN_LENGTH = 8192

/** A compact JWS split and decoded by {@link readCompactJWS}. Nothing in it is verified yet. */
export interface DecodedJWS {
  /** The JOSE header: a JSON object without duplicated member names. */
  header: Record<string, unknown>
  /** The payload (a JWT's claims): a JSON object without duplicated member names. */
  payload: Record<string, unknown>
  /** What the signature covers: the first two segments and the dot between them, as ASCII bytes. */
  signingInput: Buffer
  /** The signature, decoded from base64url. */
  signature: Buffer
}

/** Three non-empty segments of the base64url alphabet. No `.` inside a class: linear time. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const SEGMENT = /^[A-Za-z0-9_-]*$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
// Fatal: a byte sequence that is not UTF-8 is refused, not replaced by U+FFFD. ignoreBOM keeps a
// leading byte-order mark in the text, where JSON.parse refuses it, rather than dropping it.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Whether the length and last character of a segment of the alphabet are canonical. */
function hasCanonicalEnd(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 1) return false
  if (rest === 0) return true
  const last = ALPHABET.indexOf(segment[segment.length - 1]!)
  // 2 leftover chars carry 12 bits for 8 (4 unused); 3 chars carry 18 bits for 16 (2 unused).
  const unusedMask = rest === 2 ? 0b1111 : 0b11
  return (last & unusedMask) === 0
}

/**
 * Whether `segment` is canonical unpadded base64url: the alphabet only, a length that is not 1
 * more than a multiple of 4, and zero bits in the last character's unused positions.
 *
 * @example
 * ```ts
 * isCanonicalBase64url('AA') // true
 * isCanonicalBase64url('AB') // false: the same byte as 'AA'
 * ```
 */
export function isCanonicalBase64url(segment: string): boolean {
  return SEGMENT.test(segment) && hasCanonicalEnd(segment)
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** The index of the quote that closes the JSON string opening at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  let end = start
  for (;;) {
    end = text.indexOf('"', end + 1)
    if (end === -1) return -1
    // Escaped when an odd number of backslashes precedes it.
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return end
  }
}

/**
 * Whether the JSON text has an object with the same member name twice (at any depth, names
 * compared after unescaping, so `"sub"` and `"s\u0075b"` are the same). Assumes `JSON.parse`
 * accepts the text; returns `true` on anything it cannot scan, so that odd input is refused.
 *
 * @example
 * ```ts
 * hasDuplicateMemberNames('{"sub":"a","sub":"b"}') // true
 * ```
 */
export function hasDuplicateMemberNames(text: string): boolean {
  const stack: (Set<string> | null)[] = []
  let expectName = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (ch === QUOTE) {
      const end = closingQuote(text, i)
      if (end === -1) return true
      const names = stack[stack.length - 1]
      if (expectName && names) {
        let name = text.slice(i + 1, end)
        if (name.includes('\\')) {
          try {
            name = JSON.parse(text.slice(i, end + 1)) as string
          } catch {
            return true
          }
        }
        if (names.has(name)) return true
        names.add(name)
        expectName = false
      }
      i = end
    } else if (ch === 0x7b) {
      // {
      stack.push(new Set())
      expectName = true
    } else if (ch === 0x5b) {
      // [
      stack.push(null)
      expectName = false
    } else if (ch === 0x7d || ch === 0x5d) {
      // } ]
      stack.pop()
      expectName = false
    } else if (ch === 0x2c) {
      // ,
      expectName = stack[stack.length - 1] instanceof Set
    }
  }
  return false
}

/** A segment decoded as a UTF-8 JSON object without duplicated names, or `null`. */
function decodeJSONObject(segment: string): Record<string, unknown> | null {
  let text: string
  let value: unknown
  try {
    text = UTF8.decode(Buffer.from(segment, 'base64url'))
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  return hasDuplicateMemberNames(text) ? null : (value as Record<string, unknown>)
}

/**
 * Reads a compact JWS: at most {@link MAX_TOKEN_LENGTH} characters, three non-empty segments of
 * canonical base64url, a header and a payload that are UTF-8 JSON objects without duplicated
 * member names. Returns them decoded with the signing input and the signature bytes, or `null`
 * for anything else. Neither the signature nor any header or claim is checked here.
 *
 * @example
 * ```ts
 * const jws = readCompactJWS(token)
 * if (jws === null) throw new AuthError('invalid_token', 'Access token is malformed')
 * ```
 */
export function readCompactJWS(token: unknown): DecodedJWS | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return null
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  const headerSegment = token.slice(0, first)
  const payloadSegment = token.slice(first + 1, second)
  const signatureSegment = token.slice(second + 1)
  if (
    !hasCanonicalEnd(headerSegment) ||
    !hasCanonicalEnd(payloadSegment) ||
    !hasCanonicalEnd(signatureSegment)
  ) {
    return null
  }
  const header = decodeJSONObject(headerSegment)
  if (header === null) return null
  const payload = decodeJSONObject(payloadSegment)
  if (payload === null) return null
  return {
    header,
    payload,
    signingInput: Buffer.from(token.slice(0, second), 'latin1'),
    signature: Buffer.from(signatureSegment, 'base64url'),
  }
}
