import type { QueryCreator, Selectable, Transaction } from 'kysely'
import type {
  ConsumeRefreshTokenInput,
  ConsumeResult,
  GraceSuccessor,
  NewRefreshToken,
  SessionRecord,
} from '../storage.js'
import { isSessionLive, MAX_GRACE_CHAIN } from '../storage.js'
import { type Database, type RefreshTokensTable, toNullableNumber, toNumber } from './schema.js'
import { matchLiveSession, sessionFromRow, tokenRow } from './sql-rows.js'
import type { SQLTraits } from './sql-traits.js'

/*
 * The body of `consumeRefreshToken`, run in one transaction (which SQLStorage retries after a
 * deadlock). The compare-and-set is the UPDATE's WHERE: `used_at IS NULL` on a live session. Its
 * first statement is a write, which matters on SQLite: a transaction that reads first and writes
 * later cannot wait for another process's lock (it fails with SQLITE_BUSY), one that writes first
 * waits under busy_timeout. On PostgreSQL and MySQL the row lock makes a concurrent UPDATE wait for
 * the winner's commit and then re-check the WHERE, so it matches nothing. MySQL first locks the
 * session row (`lockOwnerRowFirst`), see the trait for the deadlock it avoids.
 */
export async function consumeRefreshTokenInTransaction(
  trx: Transaction<Database>,
  traits: SQLTraits,
  input: ConsumeRefreshTokenInput,
): Promise<ConsumeResult> {
  const { tokenHash, sessionId, now, graceMs, next } = input
  if (traits.lockOwnerRowFirst) {
    await trx.selectFrom('tp_sessions').select('id').where('id', '=', sessionId).forUpdate().execute()
  }
  const won = await claimToken(trx, input).executeTakeFirst()

  // The winner knows its parent from the caller (the token's own jti): no read needed.
  if (won.numUpdatedRows > 0n && next.parentJti !== null) {
    return { status: 'rotated', session: await issueChild(trx, traits, next.parentJti, next, now) }
  }
  let tokenQuery = trx
    .selectFrom('tp_refresh_tokens')
    .select(LINK_COLUMNS)
    .where('token_hash', '=', tokenHash)
    .where('session_id', '=', sessionId)
  if (traits.supportsForUpdate) tokenQuery = tokenQuery.forUpdate()
  const token = await tokenQuery.executeTakeFirst()
  if (!token) return { status: 'invalid' }

  if (won.numUpdatedRows > 0n) {
    const session = await issueChild(trx, traits, token.jti, next, now)
    return { status: 'rotated', session }
  }

  let sessionQuery = trx.selectFrom('tp_sessions').selectAll().where('id', '=', sessionId)
  if (traits.supportsForUpdate) sessionQuery = sessionQuery.forUpdate()
  const sessionRow = await sessionQuery.executeTakeFirst()
  if (!sessionRow) return { status: 'invalid' }
  const session = sessionFromRow(sessionRow)
  const usedAt = toNullableNumber(token.used_at)
  if (!isSessionLive(session, now) || usedAt === null || toNumber(token.expires_at) <= now)
    return { status: 'invalid' }

  if (graceMs > 0 && now - usedAt <= graceMs) {
    const successor = await followLineage(trx, traits, token, now)
    return successor ? { status: 'grace', session, successor } : { status: 'invalid' }
  }
  await trx
    .updateTable('tp_sessions')
    .set({ revoked_at: now, revoked_reason: 'reuse_detected' })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .execute()
  return { status: 'reused', session: { ...session, revokedAt: now, revokedReason: 'reuse_detected' } }
}

/**
 * The compare-and-set of a rotation: marks the presented token used, naming its successor, if it
 * is unused, unexpired and its session live. Shared by the transaction above and the one-statement
 * rotation (sql-rotation-cte.ts).
 */
export function claimToken(qb: QueryCreator<Database>, input: ConsumeRefreshTokenInput) {
  const { tokenHash, sessionId, now, next, sealedNext } = input
  const liveSession = qb
    .selectFrom('tp_sessions')
    .select('id')
    .where('id', '=', sessionId)
    .where(matchLiveSession(now))
  return qb
    .updateTable('tp_refresh_tokens')
    .set({ used_at: now, successor_jti: next.jti, successor_sealed: sealedNext })
    .where('token_hash', '=', tokenHash)
    .where('session_id', '=', sessionId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) => eb.exists(liveSession))
}

/** What a step along a lineage reads of a token. */
const LINK_COLUMNS = ['jti', 'used_at', 'expires_at', 'successor_jti', 'successor_sealed'] as const
type Link = Pick<Selectable<RefreshTokensTable>, (typeof LINK_COLUMNS)[number]>

/**
 * From a used token to the lineage's live one, through each used token's successor, collecting
 * the sealed successors on the way. `null` when the chain breaks (a sealed successor cleared, a
 * token gone) or the live token has expired: the presented token then gets nothing.
 */
async function followLineage(
  trx: Transaction<Database>,
  traits: SQLTraits,
  start: Link,
  now: number,
): Promise<GraceSuccessor | null> {
  const sealed: string[] = []
  let link: Link | undefined = start
  while (link.used_at !== null) {
    if (link.successor_jti === null || link.successor_sealed === null || sealed.length >= MAX_GRACE_CHAIN) {
      return null
    }
    sealed.push(link.successor_sealed)
    const successorJti: string = link.successor_jti
    let query = trx.selectFrom('tp_refresh_tokens').select(LINK_COLUMNS).where('jti', '=', successorJti)
    if (traits.supportsForUpdate) query = query.forUpdate()
    link = await query.executeTakeFirst()
    if (!link) return null
  }
  const expiresAt = toNumber(link.expires_at)
  return expiresAt > now ? { jti: link.jti, expiresAt, sealed } : null
}

/** Stores `next` as a child of `parentJti` and slides the session's idle expiry to its expiry. */
async function issueChild(
  trx: Transaction<Database>,
  traits: SQLTraits,
  parentJti: string,
  next: NewRefreshToken,
  now: number,
): Promise<SessionRecord> {
  await insertChild(trx, parentJti, next).execute()
  const touch = slideSession(trx, next, now)
  if (traits.supportsUpdateReturning) {
    return sessionFromRow(await touch.returningAll().executeTakeFirstOrThrow())
  }
  await touch.execute()
  const row = await trx
    .selectFrom('tp_sessions')
    .selectAll()
    .where('id', '=', next.sessionId)
    .executeTakeFirstOrThrow()
  return sessionFromRow(row)
}

/** The INSERT of a rotation's new token, child of `parentJti`. */
export function insertChild(qb: QueryCreator<Database>, parentJti: string, next: NewRefreshToken) {
  return qb.insertInto('tp_refresh_tokens').values(tokenRow({ ...next, parentJti }))
}

/** The UPDATE that slides a session's idle expiry to its new token's. */
export function slideSession(qb: QueryCreator<Database>, next: NewRefreshToken, now: number) {
  return qb
    .updateTable('tp_sessions')
    .set({ last_used_at: now, idle_expires_at: next.expiresAt })
    .where('id', '=', next.sessionId)
}
