import { deriveKey, seal, unseal } from '../internal/crypto.js'
import type { GraceSuccessor } from '../storage/storage.js'
import type { KeyRing } from '../tokens/keys.js'
import { hashRefreshToken, type IssuedRefreshToken, readSignedRefreshToken } from '../tokens/refresh-token.js'

/*
 * One lineage per session (docs/security.md). A rotation keeps the successor it issued beside the
 * token it replaced, sealed (AES-256-GCM) under a key derived (HKDF) from the replaced token
 * itself, with the session id as associated data. Within the grace window, whoever presents the
 * replaced token again can open it and gets the same successor, never a new branch; the database
 * alone (a dump, a read-only attacker) holds no usable token, since it keeps only hashes of the
 * tokens the keys derive from.
 */

const PURPOSE = 'refresh-successor'

/** `successor` sealed for whoever holds `token`. */
export function sealSuccessor(token: string, successor: string, sessionId: string): string {
  return seal(deriveKey(token, PURPOSE), successor, sessionId)
}

/**
 * Opens the chain of a grace answer from the presented `token` to the lineage's live token, and
 * checks that what it found is that token: ours, of this session, the `jti` storage named. `null`
 * when any link does not open or does not match (nothing to hand out).
 */
export async function openSuccessor(
  keys: KeyRing,
  token: string,
  sessionId: string,
  successor: GraceSuccessor,
): Promise<IssuedRefreshToken | null> {
  let current = token
  try {
    for (const sealed of successor.sealed) current = unseal(deriveKey(current, PURPOSE), sealed, sessionId)
  } catch {
    return null
  }
  const claims = await readSignedRefreshToken(keys, current)
  if (!claims || claims.jti !== successor.jti || claims.sid !== sessionId) return null
  return {
    token: current,
    jti: claims.jti,
    tokenHash: hashRefreshToken(current),
    issuedAt: claims.iat * 1000,
    expiresAt: successor.expiresAt,
  }
}
