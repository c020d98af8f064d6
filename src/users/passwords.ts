import { availableParallelism } from 'node:os'
import { type Algorithm, hash, type Options, verify } from '@node-rs/argon2'
import { createSemaphore } from '../internal/semaphore.js'

/** `Algorithm.Argon2id`, a const enum that `verbatimModuleSyntax` cannot import as a value. */
const ARGON2ID = 2 as Algorithm

/** argon2id at OWASP's first recommended setting: 19 MiB, two passes, one lane. */
const ARGON2_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/*
 * argon2 runs in libuv's thread pool (4 threads by default). On a machine with fewer cores than
 * that, four hashes at once starve the event loop and add nothing to throughput, so at most one
 * hash per core runs at a time and the rest queue here. Measured on 2 cores (docs/benchmarks.md):
 * the p99 of requests served while logins run drops, the login rate stays where it was.
 */
const hashing = createSemaphore(availableParallelism())

/** Hashes a password with argon2id, off the event loop (in libuv's thread pool). */
export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => hash(password, ARGON2_OPTIONS))
}

/** Whether `password` matches `passwordHash`; `false` for a malformed hash rather than an error. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await hashing.run(() => verify(passwordHash, password))
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
