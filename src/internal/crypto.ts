import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'

/** Hex SHA-256 of a string: how tokens are stored (a hash, never the token). */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** A key of `length` bytes derived from `secret` for one `purpose` (HKDF-SHA256), so purposes never share a key. */
export function deriveKey(secret: string, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'tokenpair', purpose, length))
}

/** `length` random bytes as base64url: ids, mail tokens. */
export function randomToken(length = 32): string {
  return randomBytes(length).toString('base64url')
}

const SEALED_PREFIX = 'v1.'

/**
 * Encrypts `plaintext` with AES-256-GCM. `context` (for example a key id) is authenticated but not
 * stored, so a sealed value moved to another row fails to open.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return `${SEALED_PREFIX}${iv.toString('base64url')}.${body.toString('base64url')}`
}

/** Opens a value made by {@link seal}; throws when the key, context or value is wrong. */
export function unseal(key: Buffer, sealed: string, context: string): string {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new Error('unknown sealed format')
  const [ivText, bodyText] = sealed.slice(SEALED_PREFIX.length).split('.')
  const iv = Buffer.from(ivText ?? '', 'base64url')
  const body = Buffer.from(bodyText ?? '', 'base64url')
  if (iv.length !== 12 || body.length < 16) throw new Error('malformed sealed value')
  const decipher = createDecipheriv('aes-256-gcm', key, iv)
  decipher.setAAD(Buffer.from(context))
  decipher.setAuthTag(body.subarray(body.length - 16))
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
    'utf8',
  )
}
