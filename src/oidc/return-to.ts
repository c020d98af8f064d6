/** An origin that no request can have: what `returnTo` is resolved against, to see where it points. */
const PROBE_ORIGIN = 'http://return-to.invalid'

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

/**
 * `returnTo` as a path of this site, or `/`: the WHATWG URL parser (the one browsers use) resolves
 * it against an origin of its own, and only a result on that same origin whose path does not start
 * with `//` (which a browser would read as another host) is kept, as path, query and fragment.
 * So `https://evil.example`, `//evil.example`, `/\evil.example`, `/%09/evil.example` and
 * `/.//evil.example` all become `/`.
 */
export function resolveReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 2048) return '/'
  // A backslash is a slash to browsers; control characters are dropped by the parser.
  if (value.includes('\\') || hasControlCharacter(value)) return '/'
  let url: URL
  try {
    url = new URL(value, PROBE_ORIGIN)
  } catch {
    return '/'
  }
  if (url.origin !== PROBE_ORIGIN) return '/'
  const path = `${url.pathname}${url.search}${url.hash}`
  return path.startsWith('//') ? '/' : path
}

/** `returnTo` with `error=<code>` added to its query (its fragment kept last). */
export function withErrorCode(returnTo: string, code: string): string {
  const url = new URL(returnTo, PROBE_ORIGIN)
  url.searchParams.set('error', code)
  return `${url.pathname}${url.search}${url.hash}`
}

/**
 * `returnTo` with a login ticket in its fragment (`#mfa_token=…&methods=…`, replacing a fragment
 * it had): the sign-in needs a second factor. A fragment never reaches a server, a log line or a
 * `Referer`; the page reads it, takes it out of the address bar and posts it with the code.
 */
export function withMFATicket(
  returnTo: string,
  ticket: { mfaToken: string; methods: readonly string[] },
): string {
  const url = new URL(returnTo, PROBE_ORIGIN)
  const fragment = new URLSearchParams({ mfa_token: ticket.mfaToken, methods: ticket.methods.join(',') })
  return `${url.pathname}${url.search}#${fragment}`
}
