import { type Kysely, sql } from 'kysely'
import type { ConsumeRefreshTokenInput, SessionRecord } from '../storage.js'
import type { Database } from './schema.js'
import { claimToken } from './sql-rotation.js'
import { sessionFromRow } from './sql-rows.js'

/*
 * The common case of a rotation in one statement, for a database with data-modifying CTEs
 * (PostgreSQL): the compare-and-set of the presented token (`won`), its successor's INSERT
 * (`child`, only when `won` matched) and the session's slide with RETURNING, one round trip and
 * one implicit transaction. A concurrent rotation of the same token waits on the row lock of
 * `won`'s UPDATE and then re-checks its WHERE (`used_at IS NULL`), so it matches nothing, inserts
 * nothing and returns no row, exactly as the transaction of sql-rotation.ts would.
 */

/**
 * The session after rotating `input`'s token, or `null` when the token did not win (used,
 * expired, unknown, or its session not live): the caller then runs the full transaction
 * (consumeRefreshTokenInTransaction), which tells those cases apart (grace, reuse, invalid).
 * Needs `input.next.parentJti`.
 */
export async function rotateInOneStatement(
  db: Kysely<Database>,
  input: ConsumeRefreshTokenInput & { next: { parentJti: string } },
): Promise<SessionRecord | null> {
  const { now, next } = input
  const row = await db
    .with('won', (qb) => claimToken(qb, input).returning('jti'))
    .with('child', (qb) =>
      qb
        .insertInto('tp_refresh_tokens')
        .columns(['jti', 'token_hash', 'session_id', 'parent_jti', 'issued_at', 'expires_at', 'used_at'])
        .expression(
          // Typed parameters: in INSERT … SELECT PostgreSQL would read untyped ones as text.
          qb
            .selectFrom('won')
            .select([
              sql<string>`${next.jti}::text`.as('jti'),
              sql<string>`${next.tokenHash}::text`.as('token_hash'),
              sql<string>`${next.sessionId}::text`.as('session_id'),
              sql<string>`${next.parentJti}::text`.as('parent_jti'),
              sql<number>`${next.issuedAt}::bigint`.as('issued_at'),
              sql<number>`${next.expiresAt}::bigint`.as('expires_at'),
              sql<null>`null::bigint`.as('used_at'),
            ]),
        )
        .returning('jti'),
    )
    .updateTable('tp_sessions')
    .set({ last_used_at: now, idle_expires_at: next.expiresAt })
    .where('id', '=', next.sessionId)
    .where((eb) => eb.exists(eb.selectFrom('child').select('jti')))
    .returningAll()
    .executeTakeFirst()
  return row ? sessionFromRow(row) : null
}
