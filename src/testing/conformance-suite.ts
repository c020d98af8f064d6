import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, expect } from 'vitest'
import { AuthError } from '../errors.js'
import type {
  ConsumeResult,
  NewRefreshToken,
  SessionRecord,
  Storage,
  UserRecord,
} from '../storage/storage.js'
import { makeSession, makeToken, makeUser } from './fixtures.js'

/** How the conformance suite gets a storage. */
export interface ConformanceOptions {
  /** Opens a new storage on the adapter's test database (a new connection or pool each call). */
  create: () => Promise<Storage>
  /** Empties the database before each case (after `migrate`). Default: nothing, for a fresh database per `create`. */
  reset?: (storage: Storage) => Promise<void>
  /** How many parallel consumes the race sends. Default 24. */
  raceSize?: number
}

export const HOUR = 3_600_000
export const DAY = 24 * HOUR

/**
 * What the topics of the conformance suite (one file each) share: the storage of the running case
 * and the helpers that seed it.
 */
export interface ConformanceSuite {
  readonly options: ConformanceOptions
  /** The storage of the running case: opened, migrated and reset before it, closed after it. */
  readonly storage: Storage
  /** A user with one live session whose first refresh token is returned. */
  seedSession(now?: number): Promise<{ user: UserRecord; session: SessionRecord; token: NewRefreshToken }>
  /**
   * Consumes a token, offering a fresh successor (`offered`) and its stand-in sealed value
   * (`sealedFor(offered)`: storage keeps it as opaque text).
   */
  consume(
    tokenHash: string,
    sessionId: string,
    now: number,
    graceMs: number,
    on?: Storage,
  ): Promise<ConsumeResult & { offered: NewRefreshToken }>
  /**
   * The storages a race runs on: the case's own and, when the adapter can be shared across
   * processes, three more on the same database (other connections or pools), closed after the case.
   */
  openPeers(): Promise<Storage[]>
}

/**
 * Opens a storage before each case of the enclosing `describe` (migrated, then reset) and closes it
 * after, with every peer the case opened; returns the suite that its topics use.
 */
export function useConformanceSuite(options: ConformanceOptions): ConformanceSuite {
  let storage: Storage
  const extra: Storage[] = []
  /*
   * The jti of each token the suite made, by hash: a consume names its parent, as a real rotation
   * does (the presented token's own jti), which is the path PostgreSQL runs in one statement.
   */
  const jtiByHash = new Map<string, string>()

  beforeEach(async () => {
    storage = await options.create()
    await storage.migrate()
    await options.reset?.(storage)
  })

  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close()
    await storage.close()
  })

  return {
    options,
    get storage() {
      return storage
    },

    async seedSession(now = Date.now()) {
      const user = makeUser({}, now)
      await storage.createUser(user)
      const session = makeSession(user.id, {}, now)
      const token = makeToken(session.id, {}, now)
      jtiByHash.set(token.tokenHash, token.jti)
      await storage.createSession(session, token)
      return { user, session, token }
    },

    async consume(tokenHash, sessionId, now, graceMs, on = storage) {
      const parentJti = jtiByHash.get(tokenHash) ?? randomUUID()
      const offered = makeToken(sessionId, { expiresAt: now + DAY, parentJti }, now)
      jtiByHash.set(offered.tokenHash, offered.jti)
      const result = await on.consumeRefreshToken({
        tokenHash,
        sessionId,
        now,
        graceMs,
        next: offered,
        sealedNext: sealedFor(offered),
      })
      return { ...result, offered }
    },

    async openPeers() {
      const peers = [storage]
      if (storage.capabilities.sharedAcrossProcesses) {
        for (let i = 0; i < 3; i++) {
          const peer = await options.create()
          extra.push(peer)
          peers.push(peer)
        }
      }
      return peers
    },
  }
}

/** The stand-in for a sealed successor that the cases offer: any opaque text does for storage. */
export function sealedFor(token: NewRefreshToken): string {
  return `sealed:${token.jti}`
}

/** Expects `promise` to reject with an {@link AuthError} of `code`. */
export async function expectAuthError(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => e instanceof AuthError && e.code === code)
}
