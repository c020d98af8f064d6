/**
 * A browser as far as a redirect dance needs one: it follows redirects by hand, across origins,
 * and keeps cookies per origin with their Path (Secure and SameSite are the real browser's
 * business; the one Chromium test checks them). Every hop is recorded, so that a test can stop
 * at one and change it (a wrong `state`, a replayed code).
 */
export interface Hop {
  url: URL
  status: number
  location: URL | null
  setCookies: string[]
  headers: Headers
}

interface StoredCookie {
  value: string
  path: string
}

export class RedirectBrowser {
  readonly #jar = new Map<string, Map<string, StoredCookie>>()

  /** The cookie `name` this browser holds for `origin` (any path), or `undefined`. */
  cookie(origin: string, name: string): string | undefined {
    return this.#jar.get(origin)?.get(name)?.value
  }

  /** Sets a cookie as if a response had (tests that plant or forge one). */
  setCookie(origin: string, name: string, value: string, path = '/'): void {
    if (!this.#jar.has(origin)) this.#jar.set(origin, new Map())
    this.#jar.get(origin)!.set(name, { value, path })
  }

  /** Forgets a cookie. */
  deleteCookie(origin: string, name: string): void {
    this.#jar.get(origin)?.delete(name)
  }

  /** The `Cookie` header this browser sends to `url`. */
  cookieHeader(url: URL): string {
    const cookies = this.#jar.get(url.origin)
    if (!cookies) return ''
    return [...cookies]
      .filter(
        ([, c]) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ')
  }

  /** Keeps the cookies of an answer from `url` (its `Set-Cookie` lines). */
  store(url: URL, lines: string[]): void {
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim())
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      let path = '/'
      let expired = false
      for (const attribute of attributes) {
        const [key, val = ''] = attribute.split('=')
        if (key!.toLowerCase() === 'path') path = val
        if (key!.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true
        if (key!.toLowerCase() === 'expires' && Date.parse(val) < Date.now()) expired = true
      }
      if (!this.#jar.has(url.origin)) this.#jar.set(url.origin, new Map())
      if (expired || value === '') this.#jar.get(url.origin)!.delete(name)
      else this.#jar.get(url.origin)!.set(name, { value, path })
    }
  }

  /** One request, as a browser's top-level GET (with `extraHeaders`, as a client that is no browser); cookies sent and stored. */
  async step(url: URL | string, extraHeaders: Record<string, string> = {}): Promise<Hop> {
    const target = new URL(url)
    const headers: Record<string, string> = { ...extraHeaders }
    const cookie = this.cookieHeader(target)
    if (cookie) headers.cookie = cookie
    const res = await fetch(target, { redirect: 'manual', headers })
    await res.arrayBuffer()
    const setCookies = res.headers.getSetCookie()
    this.store(target, setCookies)
    const location = res.headers.get('location')
    return {
      url: target,
      status: res.status,
      location: location ? new URL(location, target) : null,
      setCookies,
      headers: res.headers,
    }
  }

  /**
   * Follows redirects from `url` until an answer that is not one, or until `stopAt` says stop
   * (it sees each hop's target before the request). Returns every hop.
   */
  async follow(
    url: URL | string,
    options: { stopAt?: (next: URL) => boolean; max?: number } = {},
  ): Promise<Hop[]> {
    const hops: Hop[] = []
    let next: URL | null = new URL(url)
    for (let i = 0; next && i < (options.max ?? 20); i++) {
      if (i > 0 && options.stopAt?.(next)) break
      const hop = await this.step(next)
      hops.push(hop)
      next = hop.status >= 300 && hop.status < 400 ? hop.location : null
    }
    return hops
  }
}
