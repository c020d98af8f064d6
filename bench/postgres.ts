import { createDatabaseOn, type TestDatabase, testServerURL } from '../test/helpers/test-database.js'

/** A PostgreSQL database of one bench run, dropped at its end. */
export type BenchDatabase = TestDatabase

/**
 * Creates an empty database with a name of its own on `BENCH_POSTGRES_URL` (default: the tests'
 * PostgreSQL), so that a run never touches anyone else's; `drop()` ends what is still connected.
 */
export function createBenchDatabase(): Promise<BenchDatabase> {
  return createDatabaseOn(process.env.BENCH_POSTGRES_URL ?? testServerURL('postgres'))
}
