import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** A PostgreSQL database of one bench run, dropped at its end. */
export interface BenchDatabase {
  url: string
  drop(): Promise<void>
}

/** The server that holds the bench databases; `BENCH_POSTGRES_URL` overrides the local default. */
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Creates an empty database with a name of its own, so that a run never touches anyone else's. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `tokenpair_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL })
      await client.connect()
      try {
        // FORCE: a bench server killed mid-run may leave connections behind.
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}
