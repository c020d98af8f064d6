import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'
import { findTestServer, type TestServerKind } from './test/helpers/test-database.js'

/*
 * The HTTP suite (test/http/**) runs once per database of the matrix: SQLite, PostgreSQL and
 * MariaDB, each test server on a database of its own (test/helpers/test-database.ts). Every other
 * test runs once. `TEST_HTTP_DATABASES=sqlite` (a comma list of sqlite, postgres, mysql) narrows the
 * matrix; a server that cannot be reached drops out with one line, except under CI=true, where
 * findTestServer throws and the run fails.
 */
const HTTP_TESTS = ['test/http/**/*.test.ts']
const wanted = new Set(
  (process.env.TEST_HTTP_DATABASES ?? 'sqlite,postgres,mysql').split(',').map((name) => name.trim()),
)

/*
 * Vitest evaluates this file more than once per run (once per project that extends it); the
 * answer of the first probe is kept in the environment so that each server is asked, and an
 * unreachable one reported, once.
 */
async function probeServer(kind: TestServerKind): Promise<string | null> {
  const key = `TOKENPAIR_TEST_${kind.toUpperCase()}_SERVER`
  const known = process.env[key]
  if (known !== undefined) return known === '' ? null : known
  const url = await findTestServer(kind)
  process.env[key] = url ?? ''
  return url
}

function httpProject(name: string, databaseUrl: string | null): TestProjectInlineConfiguration[] {
  if (databaseUrl === null) return []
  return [
    {
      extends: true,
      test: { name: `http-${name}`, include: HTTP_TESTS, env: { TEST_DATABASE_URL: databaseUrl } },
    },
  ]
}

const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: { name: 'unit', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: HTTP_TESTS },
  },
  ...(wanted.has('sqlite') ? httpProject('sqlite', 'sqlite::memory:') : []),
  ...(wanted.has('postgres') ? httpProject('postgres', await probeServer('postgres')) : []),
  ...(wanted.has('mysql') ? httpProject('mariadb', await probeServer('mysql')) : []),
]

export default defineConfig({
  test: {
    // Two cores: files run in parallel processes, each test file owns its databases and ports.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects,
  },
})
