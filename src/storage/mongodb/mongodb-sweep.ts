import type { Collection, Document } from 'mongodb'
import type { SweepResult } from '../storage.js'
import { deadSessionFilter, type EmailTokenDoc, type SessionDoc } from './mongodb-documents.js'

/** Sweeps work in batches of this many documents, so that memory stays bounded. */
const SWEEP_BATCH = 500

/**
 * Deletes dead sessions (with the tokens inside them), the expired tokens of live sessions and the
 * expired mail tokens, and counts them: the body of `deleteExpired`.
 */
export async function deleteExpiredDocuments(
  sessions: Collection<SessionDoc>,
  emailTokens: Collection<EmailTokenDoc>,
  now: number,
  graceMs: number,
): Promise<SweepResult> {
  const dead = deadSessionFilter(now)
  // Dead sessions, with the tokens inside them. A dead session never comes back to life, so
  // the count read before the delete is the count deleted.
  let deadSessions = 0
  const deadTokens = await sweepInBatches(
    sessions,
    dead,
    { $size: { $ifNull: ['$refreshTokens', []] } },
    async (ids) => {
      const deleted = await sessions.deleteMany({ _id: { $in: ids }, ...dead })
      deadSessions += deleted.deletedCount
    },
  )
  // Expired tokens of live sessions.
  const expiredTokens = await sweepInBatches(
    sessions,
    { 'refreshTokens.expiresAt': { $lte: now } },
    { $size: { $filter: { input: '$refreshTokens', cond: { $lte: ['$$this.expiresAt', now] } } } },
    async (ids) => {
      await sessions.updateMany(
        { _id: { $in: ids } },
        { $pull: { refreshTokens: { expiresAt: { $lte: now } } } },
      )
    },
  )
  // Sealed successors of tokens used before the grace window: no grace answer can use them now.
  const stale = { successorSealed: { $ne: null }, usedAt: { $lt: now - graceMs } }
  const sealedSuccessors = await sweepInBatches(
    sessions,
    { refreshTokens: { $elemMatch: stale } },
    {
      $size: {
        $filter: {
          input: '$refreshTokens',
          cond: {
            $and: [
              { $ne: [{ $ifNull: ['$$this.successorSealed', null] }, null] },
              { $ne: ['$$this.usedAt', null] },
              { $lt: ['$$this.usedAt', now - graceMs] },
            ],
          },
        },
      },
    },
    async (ids) => {
      await sessions.updateMany(
        { _id: { $in: ids } },
        { $set: { 'refreshTokens.$[stale].successorSealed': null } },
        {
          arrayFilters: [{ 'stale.successorSealed': { $ne: null }, 'stale.usedAt': { $lt: now - graceMs } }],
        },
      )
    },
  )
  const mail = await emailTokens.deleteMany({ expiresAt: { $lte: now } })
  return {
    sessions: deadSessions,
    refreshTokens: deadTokens + expiredTokens,
    emailTokens: mail.deletedCount,
    sealedSuccessors,
  }
}

/**
 * Reads the ids of at most {@link SWEEP_BATCH} sessions that `match` selects, with the number of
 * tokens (`tokens`, an aggregation expression) that `sweep` will remove from each, and calls `sweep`
 * on them, until a batch comes back short. Returns the sum of the token counts.
 */
async function sweepInBatches(
  sessions: Collection<SessionDoc>,
  match: Document,
  tokens: Document,
  sweep: (ids: string[]) => Promise<void>,
): Promise<number> {
  let swept = 0
  for (;;) {
    const batch = await sessions
      .aggregate<{ _id: string; tokens: number }>([
        { $match: match },
        { $limit: SWEEP_BATCH },
        { $project: { tokens } },
      ])
      .toArray()
    if (batch.length === 0) break
    await sweep(batch.map((d) => d._id))
    swept += batch.reduce((sum, d) => sum + d.tokens, 0)
    if (batch.length < SWEEP_BATCH) break
  }
  return swept
}
