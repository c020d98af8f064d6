import type { QueryResult } from 'kysely'

/** A statement of a unit given whole to a {@link UnitRunner}. */
export interface UnitStatement {
  sql: string
  parameters: readonly unknown[]
}

/**
 * Runs statements as one unit in one step, in order, atomically, and resolves once the unit is
 * durable. With `guarded`, a first statement that changes no row undoes the unit, and the answer
 * is `null`: what a compare-and-set that lost needs. A storage whose driver can do this in one
 * trip (SQLite's group commit) saves a trip per statement on its writer.
 */
export type UnitRunner = (
  statements: readonly UnitStatement[],
  options?: { guarded?: boolean },
) => Promise<QueryResult<unknown>[] | null>
