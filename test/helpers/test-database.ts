import { randomBytes } from 'node:crypto'

/** A database for one test server (or one test file), dropped when it is done. */
export interface TestDatabase {
  url: string
  drop(): Promise<void>
}

/** The SQL servers that tests can create databases on. */
export type TestServerKind = 'postgres' | 'mysql'

/**
 * Where each server is, for the conformance files and the database-down test. The defaults are
 * the local services of our machines and CI; `TEST_POSTGRES_URL` and `TEST_MYSQL_URL` override them.
 * The URL names an administrative database: each test creates its own next to it.
 */
export function testServerURL(kind: TestServerKind): string {
  if (kind === 'postgres')
    return process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  return process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
}

function kindOf(url: string): TestServerKind | null {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres'
  if (/^(mysql|mariadb):\/\//i.test(url)) return 'mysql'
  return null
}

/** A fresh database name; random, so that parallel files and runs never meet. */
function newDatabaseName(): string {
  return `tp_${randomBytes(6).toString('hex')}`
}

/** `url` with its path (the database) replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Runs statements on the server of `url` over one short-lived admin connection. */
export async function runAdminSQL(url: string, statements: readonly string[]): Promise<void> {
  const kind = kindOf(url)
  if (kind === 'postgres') {
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
    await client.connect()
    try {
      for (const statement of statements) await client.query(statement)
    } finally {
      await client.end()
    }
    return
  }
  if (kind === 'mysql') {
    const mysql = await import('mysql2/promise')
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 3000 })
    try {
      for (const statement of statements) await connection.query(statement)
    } finally {
      await connection.end()
    }
    return
  }
  throw new Error(`not an SQL server URL: ${url.split(':')[0]}`)
}

/**
 * Creates an empty database on the server of `serverUrl` (PostgreSQL or MySQL/MariaDB) and returns
 * its URL; `drop()` removes it, closing what is still connected to it.
 */
export async function createDatabaseOn(serverUrl: string): Promise<TestDatabase> {
  const kind = kindOf(serverUrl)
  if (kind === null) throw new Error(`not an SQL server URL: ${serverUrl.split(':')[0]}`)
  const name = newDatabaseName()
  if (kind === 'postgres') {
    await runAdminSQL(serverUrl, [`CREATE DATABASE ${name}`])
    return {
      url: withDatabase(serverUrl, name),
      // FORCE ends sessions still open on it, e.g. of a test that failed before closing its pool.
      drop: () => runAdminSQL(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
    }
  }
  await runAdminSQL(serverUrl, [`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`])
  return {
    url: withDatabase(serverUrl, name),
    drop: () => runAdminSQL(serverUrl, [`DROP DATABASE IF EXISTS ${name}`]),
  }
}

/**
 * The server of `kind` if it answers, else `null` with one line on stderr, so that a machine
 * without it skips those tests. Under `CI=true` an unreachable server throws: CI must not go green
 * by skipping.
 */
export async function findTestServer(kind: TestServerKind): Promise<string | null> {
  const url = testServerURL(kind)
  try {
    await runAdminSQL(url, ['SELECT 1'])
    return url
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)
    if (process.env.CI === 'true') {
      throw new Error(`${kind} is required under CI=true but cannot be reached: ${reason}`)
    }
    process.stderr.write(`skipping ${kind} tests: server not reachable (${reason})\n`)
    return null
  }
}

/**
 * The database of one test server. `TEST_DATABASE_URL` picks the engine for the whole run (the
 * database matrix of `npm test`): a `postgres://` or `mysql://` URL names a server, on which each
 * test server gets a database of its own, created here and dropped when the server closes. By
 * default each server gets its own in-memory SQLite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL
  if (!base || base === 'sqlite::memory:') return { url: 'sqlite::memory:', drop: async () => {} }
  if (kindOf(base) !== null) return createDatabaseOn(base)
  throw new Error(`TEST_DATABASE_URL scheme not supported: ${base.split(':')[0]}`)
}
