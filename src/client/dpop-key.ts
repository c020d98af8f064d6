import { getIndexedDB } from './indexeddb-lease.js'

/*
 * The client's DPoP key (RFC 9449): a P-256 key pair made by WebCrypto with a private key that is
 * not extractable, so that no script (nor an XSS payload) can read it out; it can only sign while
 * the page runs. Browsers keep the pair in IndexedDB (a CryptoKey survives structured cloning
 * without ever being exported), shared by the tabs of the origin; Node keeps it in memory.
 */

const DB_NAME = 'tokenpair-dpop'
const STORE = 'keys'
/** The longest opening the key store may take before the key lives in memory only. */
const OPEN_TIMEOUT_MS = 2_000

/** A key pair and its public JWK, as proofs carry it. */
export interface DPoPKey {
  readonly privateKey: CryptoKey
  /** `{kty, crv, x, y}`: the members RFC 7638 hashes, nothing more. */
  readonly publicJwk: { kty: string; crv: string; x: string; y: string }
}

async function generateKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
}

async function describeKey(pair: CryptoKeyPair): Promise<DPoPKey> {
  // A public key stays exportable whatever `extractable` says; the private key never is.
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey)
  return {
    privateKey: pair.privateKey,
    publicJwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! },
  }
}

function isKeyPair(value: unknown): value is CryptoKeyPair {
  const pair = value as Partial<CryptoKeyPair> | null | undefined
  return (
    typeof CryptoKey !== 'undefined' &&
    pair?.privateKey instanceof CryptoKey &&
    pair.publicKey instanceof CryptoKey
  )
}

function openStore(factory: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('IndexedDB did not open')), OPEN_TIMEOUT_MS)
    const request = factory.open(DB_NAME, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE)
    request.onsuccess = () => {
      clearTimeout(timer)
      resolve(request.result)
    }
    request.onerror = () => {
      clearTimeout(timer)
      reject(request.error)
    }
  })
}

/**
 * Keeps `candidate` under `name` unless a pair is there already, and returns the pair stored: one
 * `readwrite` transaction, which IndexedDB runs after every overlapping one of the origin, so two
 * tabs that start at once end up with the same key.
 */
function keepFirst(db: IDBDatabase, name: string, candidate: CryptoKeyPair): Promise<CryptoKeyPair> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite')
    const store = tx.objectStore(STORE)
    let kept = candidate
    const existing = store.get(name)
    existing.onsuccess = () => {
      if (isKeyPair(existing.result)) kept = existing.result
      else store.put(candidate, name)
    }
    tx.oncomplete = () => resolve(kept)
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

/**
 * The DPoP key of the auth server `name` (its URL): the one kept in IndexedDB where there is one,
 * else a new one held in memory for the life of the client.
 *
 * @example
 * ```ts
 * const key = await loadDPoPKey('https://auth.example.com/auth')
 * ```
 */
export async function loadDPoPKey(name: string): Promise<DPoPKey> {
  const candidate = await generateKey()
  const factory = getIndexedDB()
  if (factory === null) return describeKey(candidate)
  try {
    const db = await openStore(factory)
    try {
      return await describeKey(await keepFirst(db, name, candidate))
    } finally {
      db.close()
    }
  } catch {
    // Storage blocked or broken (private modes, quotas): the key lives as long as this page.
    return describeKey(candidate)
  }
}

const encoder = new TextEncoder()

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const encodeJSON = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)))

/** What a proof is for. */
export interface ProofTarget {
  method: string
  /** The request URL; its query and fragment are left out of `htu`. */
  url: string
  /** The access token the request carries in `Authorization: DPoP`, hashed into `ath`. */
  accessToken?: string
  /** The server's clock, ms since the epoch (`iat`). */
  now: number
  /** A `DPoP-Nonce` the server asked for. */
  nonce?: string
}

/**
 * A DPoP proof JWT for one request (RFC 9449 §4.2): `typ: dpop+jwt`, ES256 (WebCrypto's ECDSA
 * signature is already the JWS form, r‖s), the public JWK in the header; `jti`, `htm`, `htu`,
 * `iat`, and `ath` or `nonce` when given.
 */
export async function createProof(key: DPoPKey, target: ProofTarget): Promise<string> {
  const url = new URL(target.url)
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID(),
    htm: target.method.toUpperCase(),
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(target.now / 1000),
  }
  if (target.accessToken !== undefined) {
    const digest = await crypto.subtle.digest('SHA-256', encoder.encode(target.accessToken))
    claims.ath = base64url(new Uint8Array(digest))
  }
  if (target.nonce !== undefined) claims.nonce = target.nonce
  const input = `${encodeJSON({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })}.${encodeJSON(claims)}`
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    encoder.encode(input),
  )
  return `${input}.${base64url(new Uint8Array(signature))}`
}

/**
 * The key's RFC 7638 thumbprint: base64url SHA-256 of its required members in lexicographic order
 * (`crv`, `kty`, `x`, `y` for an EC key), what the server binds a session to (`cnf.jkt`).
 */
export async function jwkThumbprint(jwk: DPoPKey['publicJwk']): Promise<string> {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(members))))
}
