/**
 * Strict shape checks of a compact JWS, run before any crypto (RFC 8725 §3.11, §3.12 spirit:
 * "reject what is ambiguous"). `jose` is lenient in two places an attacker can use:
 *
 * - base64url with set "unused" low bits decodes to the same bytes as the canonical form, so one
 *   signed token has many spellings (each a different string, hash and cache key);
 * - duplicated JSON member names (`{"sub":"a","sub":"b"}`) are accepted with the last one winning,
 *   while another parser may take the first (RFC 7515 §5.2 lets us refuse them; we do).
 */

/** Largest token accepted, in characters, before anything else is looked at. */
export const MAX_JWS_LENGTH = 8192

const SEGMENT = /^[A-Za-z0-9_-]*$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether `segment` is canonical unpadded base64url: the alphabet only, a length that is not 1
 * more than a multiple of 4, and zero bits in the last character's unused positions.
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!SEGMENT.test(segment)) return false
  const rest = segment.length % 4
  if (rest === 1) return false
  if (rest === 0) return true
  const last = ALPHABET.indexOf(segment[segment.length - 1]!)
  // 2 leftover chars carry 12 bits for 8 (4 unused); 3 chars carry 18 bits for 16 (2 unused).
  const unusedMask = rest === 2 ? 0b1111 : 0b11
  return (last & unusedMask) === 0
}

/**
 * Whether the JSON text has an object with the same member name twice (at any depth, names
 * compared after unescaping, so `"sub"` and `"s\u0075b"` are the same). Assumes `JSON.parse`
 * accepts the text; returns `true` on anything it cannot scan, so that odd input is refused.
 */
export function hasDuplicateMemberNames(text: string): boolean {
  const stack: (Set<string> | null)[] = []
  let i = 0
  let expectName = false
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (j >= text.length) return true
      const top = stack[stack.length - 1]
      if (expectName && top) {
        let name: string
        try {
          name = JSON.parse(text.slice(i, j + 1)) as string
        } catch {
          return true
        }
        if (top.has(name)) return true
        top.add(name)
        expectName = false
      }
      i = j + 1
      continue
    }
    if (ch === '{') {
      stack.push(new Set())
      expectName = true
    } else if (ch === '[') {
      stack.push(null)
      expectName = false
    } else if (ch === '}' || ch === ']') {
      stack.pop()
      expectName = false
    } else if (ch === ',') {
      expectName = stack[stack.length - 1] instanceof Set
    }
    i++
  }
  return false
}

function isJSONObjectSegment(segment: string): boolean {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url'))
  } catch {
    return false
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return false
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  return !hasDuplicateMemberNames(text)
}

/**
 * Whether `token` is a compact JWS tokenpair may look at: at most {@link MAX_JWS_LENGTH}
 * characters, three canonical base64url segments, a header and a payload that are JSON objects
 * without duplicated member names. The signature is not checked here.
 */
export function isStrictCompactJWS(token: string): boolean {
  if (typeof token !== 'string' || token.length > MAX_JWS_LENGTH) return false
  const parts = token.split('.')
  if (parts.length !== 3) return false
  const [header, payload, signature] = parts as [string, string, string]
  if (header === '' || payload === '' || signature === '') return false
  if (!isCanonicalBase64url(header) || !isCanonicalBase64url(payload) || !isCanonicalBase64url(signature)) {
    return false
  }
  return isJSONObjectSegment(header) && isJSONObjectSegment(payload)
}
