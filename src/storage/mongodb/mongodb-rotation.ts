import type { Collection, Document } from 'mongodb'
import type { ConsumeRefreshTokenInput, ConsumeResult, GraceSuccessor, NewRefreshToken } from '../storage.js'
import { MAX_GRACE_CHAIN } from '../storage.js'
import {
  liveSessionFilter,
  type SessionDoc,
  sessionFromDoc,
  type TokenDoc,
  tokenDoc,
  WITHOUT_TOKENS,
} from './mongodb-documents.js'

/** What each conditional update of a consume returns: the session as it is after, without its tokens. */
const AFTER_WITHOUT_TOKENS = { returnDocument: 'after', projection: WITHOUT_TOKENS } as const

/*
 * Up to three conditional updates of the session's one document, each atomic on its own. A
 * token's `usedAt` only ever goes from null to a time, and a session only from live to revoked,
 * so trying them in this order yields what one transaction would: exactly one caller matches
 * "unused" (the server applies single-document updates one at a time), the others then match
 * "used within grace" or "used before grace", or nothing once the session is revoked.
 */
export async function consumeRefreshTokenInSession(
  sessions: Collection<SessionDoc>,
  input: ConsumeRefreshTokenInput,
): Promise<ConsumeResult> {
  const { tokenHash, sessionId, now, graceMs, next, sealedNext } = input
  const live = { _id: sessionId, ...liveSessionFilter(now) }
  const unexpired = { $gt: now }

  const rotated = await sessions.findOneAndUpdate(
    { ...live, refreshTokens: { $elemMatch: { tokenHash, usedAt: null, expiresAt: unexpired } } },
    rotationPipeline(tokenHash, next, sealedNext, now),
    AFTER_WITHOUT_TOKENS,
  )
  if (rotated) return { status: 'rotated', session: sessionFromDoc(rotated) }

  if (graceMs > 0) {
    // A read, not an update: the lineage is in the one document, so what it shows is consistent.
    const inGrace = await sessions.findOne({
      ...live,
      refreshTokens: { $elemMatch: { tokenHash, usedAt: { $gte: now - graceMs }, expiresAt: unexpired } },
    })
    if (inGrace) {
      const successor = followLineage(inGrace.refreshTokens, tokenHash, now)
      return successor
        ? { status: 'grace', session: sessionFromDoc(inGrace), successor }
        : { status: 'invalid' }
    }
  }

  const usedBeforeGrace = graceMs > 0 ? { $lt: now - graceMs } : { $ne: null }
  const revoked = await sessions.findOneAndUpdate(
    {
      ...live,
      refreshTokens: { $elemMatch: { tokenHash, usedAt: usedBeforeGrace, expiresAt: unexpired } },
    },
    { $set: { revokedAt: now, revokedReason: 'reuse_detected' } },
    AFTER_WITHOUT_TOKENS,
  )
  if (revoked) return { status: 'reused', session: sessionFromDoc(revoked) }
  return { status: 'invalid' }
}

/**
 * From the used token `tokenHash` to the lineage's live one, through each used token's successor,
 * collecting the sealed successors on the way; `null` when the chain breaks or the live token has
 * expired.
 */
function followLineage(tokens: readonly TokenDoc[], tokenHash: string, now: number): GraceSuccessor | null {
  const byJti = new Map(tokens.map((t) => [t.jti, t]))
  const sealed: string[] = []
  let link = tokens.find((t) => t.tokenHash === tokenHash)
  while (link && link.usedAt !== null) {
    if (!link.successorJti || !link.successorSealed || sealed.length >= MAX_GRACE_CHAIN) return null
    sealed.push(link.successorSealed)
    link = byJti.get(link.successorJti)
  }
  return link && link.expiresAt > now ? { jti: link.jti, expiresAt: link.expiresAt, sealed } : null
}

/**
 * The update pipeline of a rotation: drops the session's expired tokens, marks the presented one
 * used with its sealed successor, appends `next` as its child, and slides the session's idle
 * expiry. Every value from outside goes through `$literal`, so that no string can be read as a
 * field path or an operator.
 */
function rotationPipeline(
  tokenHash: string,
  next: NewRefreshToken,
  sealedNext: string,
  now: number,
): Document[] {
  const isPresented = { $eq: ['$$this.tokenHash', { $literal: tokenHash }] }
  const unexpired = { $filter: { input: '$refreshTokens', cond: { $gt: ['$$this.expiresAt', now] } } }
  const used = {
    usedAt: { $literal: now },
    successorJti: { $literal: next.jti },
    successorSealed: { $literal: sealedNext },
  }
  const kept = {
    $map: { input: unexpired, in: { $cond: [isPresented, { $mergeObjects: ['$$this', used] }, '$$this'] } },
  }
  // The parent's jti, read from the array as it was before this update.
  const parentJti = {
    $let: {
      vars: { parent: { $arrayElemAt: [{ $filter: { input: '$refreshTokens', cond: isPresented } }, 0] } },
      in: '$$parent.jti',
    },
  }
  const child = { $mergeObjects: [{ $literal: tokenDoc(next) }, { parentJti }] }
  return [
    {
      $set: {
        refreshTokens: { $concatArrays: [kept, [child]] },
        lastUsedAt: { $literal: now },
        idleExpiresAt: { $literal: next.expiresAt },
        deadAt: { $toDate: { $min: ['$expiresAt', { $literal: next.expiresAt }] } },
      },
    },
  ]
}
