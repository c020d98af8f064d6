import { type Algorithm, hash, type Options, verify } from '@node-rs/argon2'

/** `Algorithm.Argon2id`, a const enum that `verbatimModuleSyntax` cannot import as a value. */
const ARGON2ID = 2 as Algorithm

/** argon2id at OWASP's first recommended setting: 19 MiB, two passes, one lane. */
const ARGON2_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/** Hashes a password with argon2id, off the event loop (in libuv's thread pool). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS)
}

/** Whether `password` matches `passwordHash`; `false` for a malformed hash rather than an error. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | null = null

/**
 * Spends the time of one real verification against a hash of the same cost, so that an unknown
 * login name takes as long to refuse as a wrong password and the timing says nothing about which.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('tokenpair dummy password, never a real one')
  await verifyPassword(await dummyHash, password)
  return false
}
