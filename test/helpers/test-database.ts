/** A database for one test server, dropped when the server closes. */
export interface TestDatabase {
  url: string
  drop(): Promise<void>
}

/**
 * The database of one test server. `TEST_DATABASE_URL` picks the engine for the whole run (the
 * `DATABASE_URL` matrix of `npm test`); by default each server gets its own in-memory SQLite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL
  if (!base || base === 'sqlite::memory:') return { url: 'sqlite::memory:', drop: async () => {} }
  throw new Error(`TEST_DATABASE_URL scheme not supported yet: ${base.split(':')[0]}`)
}
