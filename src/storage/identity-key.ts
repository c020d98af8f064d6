import { sha256Hex } from '../internal/crypto.js'

/**
 * The unique key under which adapters index an identity: hex SHA-256 of issuer and subject, joined
 * by a newline (no URL character and no `sub`'s), so that two pairs never share a key. A hash is
 * compared exactly under every collation (a subject is case-sensitive) and fits any index.
 */
export function identityKey(issuer: string, subject: string): string {
  return sha256Hex(`${issuer}\n${subject}`)
}
