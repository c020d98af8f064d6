import type { Kysely, Selectable } from 'kysely'
import type { ConsumeRefreshTokenInput, SessionRecord } from '../storage.js'
import type { Database, SessionsTable } from './schema.js'
import { claimToken, insertChild, slideSession } from './sql-rotation.js'
import { rotateInOneStatement } from './sql-rotation-cte.js'
import { sessionFromRow } from './sql-rows.js'
import type { SQLTraits } from './sql-traits.js'
import type { UnitRunner } from './sql-unit-runner.js'

/*
 * The common case of a rotation as one unit of known statements, for a storage that can run such
 * a unit in one step (SQLite's group commit, sqlite-group-commit.ts): the compare-and-set of the
 * presented token, its successor's INSERT and the session's slide, the very statements of the
 * transaction in sql-rotation.ts, sent together. A compare-and-set that matches nothing undoes the
 * unit before the INSERT runs; the caller then runs that transaction, which tells the other cases
 * apart (grace, reuse, invalid).
 */

/**
 * The session after rotating `input`'s token, or `null` when the token did not win (used,
 * expired, unknown, or its session not live). Needs `input.next.parentJti`.
 */
export async function rotateInOneUnit(
  db: Kysely<Database>,
  runUnit: UnitRunner,
  input: ConsumeRefreshTokenInput & { next: { parentJti: string } },
): Promise<SessionRecord | null> {
  const { now, next } = input
  const statements = [
    claimToken(db, input).compile(),
    insertChild(db, next.parentJti, next).compile(),
    slideSession(db, next, now).returningAll().compile(),
  ].map(({ sql, parameters }) => ({ sql, parameters }))
  const results = await runUnit(statements, { guarded: true })
  if (results === null) return null
  const row = results[2]?.rows[0]
  // The compare-and-set matched a live session in the same unit: its row is there.
  if (row === undefined) throw new Error('the rotated session was not returned')
  return sessionFromRow(row as Selectable<SessionsTable>)
}

/** A rotation's common case in one trip: the session after it, or `null` for the other cases. */
export type CommonCaseRotation = (
  input: ConsumeRefreshTokenInput & { next: { parentJti: string } },
) => Promise<SessionRecord | null>

/**
 * How a storage rotates in one trip, if it can: a unit given whole to its driver, one statement
 * of CTEs (`rotatesInOneStatement`), or `null` (the transaction alone).
 */
export function commonCaseRotation(
  db: Kysely<Database>,
  traits: SQLTraits,
  runUnit: UnitRunner | undefined,
): CommonCaseRotation | null {
  if (runUnit) return (input) => rotateInOneUnit(db, runUnit, input)
  if (traits.rotatesInOneStatement) return (input) => rotateInOneStatement(db, input)
  return null
}
