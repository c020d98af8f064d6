import type { Collection, Document } from 'mongodb'
import type { ConsumeRefreshTokenInput, ConsumeResult, NewRefreshToken } from '../storage.js'
import {
  liveSessionFilter,
  type SessionDoc,
  sessionFromDoc,
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
  const { tokenHash, sessionId, now, graceMs, next } = input
  const live = { _id: sessionId, ...liveSessionFilter(now) }
  const unexpired = { $gt: now }

  const rotated = await sessions.findOneAndUpdate(
    { ...live, refreshTokens: { $elemMatch: { tokenHash, usedAt: null, expiresAt: unexpired } } },
    appendChildPipeline(tokenHash, next, now, { markUsed: true }),
    AFTER_WITHOUT_TOKENS,
  )
  if (rotated) return { status: 'rotated', session: sessionFromDoc(rotated) }

  if (graceMs > 0) {
    const sibling = await sessions.findOneAndUpdate(
      {
        ...live,
        refreshTokens: {
          $elemMatch: { tokenHash, usedAt: { $gte: now - graceMs }, expiresAt: unexpired },
        },
      },
      appendChildPipeline(tokenHash, next, now, { markUsed: false }),
      AFTER_WITHOUT_TOKENS,
    )
    if (sibling) return { status: 'grace', session: sessionFromDoc(sibling) }
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
 * The update pipeline of a rotation (or a grace sibling): drops the session's expired tokens,
 * optionally marks the presented one used, appends `next` as its child, and slides the session's
 * idle expiry. Every value from outside goes through `$literal`, so that no string can be read as
 * a field path or an operator.
 */
function appendChildPipeline(
  tokenHash: string,
  next: NewRefreshToken,
  now: number,
  markUsed: { markUsed: boolean },
): Document[] {
  const isPresented = { $eq: ['$$this.tokenHash', { $literal: tokenHash }] }
  const unexpired = { $filter: { input: '$refreshTokens', cond: { $gt: ['$$this.expiresAt', now] } } }
  const kept = markUsed.markUsed
    ? {
        $map: {
          input: unexpired,
          in: {
            $cond: [isPresented, { $mergeObjects: ['$$this', { usedAt: { $literal: now } }] }, '$$this'],
          },
        },
      }
    : unexpired
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
