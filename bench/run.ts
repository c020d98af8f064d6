import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BenchProcess, buildBenchServers } from './bench-process.js'
import { type LoadRequest, type LoadSummary, rotateThrough, runLoad } from './load.js'
import { type BenchDatabase, createBenchDatabase } from './postgres.js'
import { type BenchReport, type CaseResult, writeReport } from './report.js'
import type { BenchCredential } from './servers/bench-server.js'

/** The node flags of `npm start` (package.json's start script), which bound V8's heap. */
const SERVE_NODE_FLAGS = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string }
  }
).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'))

// `npm run bench`: every server in its own process, autocannon here, the cases interleaved round
// by round so that the noise of a shared machine falls on all of them alike; medians per case.
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    soak: { type: 'string', default: '600' },
    // The node flags of every tokenpair server: those `npm start` uses (docs/operations.md, Memory).
    'node-flags': { type: 'string', default: SERVE_NODE_FLAGS.join(' ') },
    connections: { type: 'string', default: '50' },
    tsx: { type: 'boolean', default: false },
    // Case ids (or their prefixes, comma-separated) to run, e.g. `--only refresh:,same:bare`.
    only: { type: 'string', default: '' },
    out: { type: 'string', default: fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)) },
  },
})
const ROUNDS = Number(values.rounds)
const DURATION = Number(values.duration)
const SOAK = Number(values.soak)
const CONNECTIONS = Number(values.connections)
const TOKENPAIR_NODE_FLAGS = values['node-flags']!.split(' ').filter((flag) => flag !== '')
if (![ROUNDS, DURATION, SOAK, CONNECTIONS].every((n) => Number.isFinite(n) && n >= 0) || ROUNDS < 1) {
  throw new Error('--rounds, --duration, --soak and --connections take numbers')
}
/** Tokens signed ahead for the "new token each request" case: more than a round sends. */
const POOL_SIZE = 40_000
/** Rate of the protected GET that measures latency, idle and while logins run. */
const LATENCY_RATE = 200
const PROTECTED = '/api/protected'

const startedAt = new Date()
const log = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)}s] ${line}\n`)
}

const servers: BenchProcess[] = []
const notes: string[] = []
const databases: BenchDatabase[] = []
/** Redis of the several-instance case (its rate-limit counters). */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Instances of the several-instance case, behind no balancer: the load is split among them. */
const CLUSTER_SIZE = 3
let removeBuild: (() => void) | null = null

async function startServer(
  name: string,
  script: string,
  env?: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<BenchProcess> {
  const server = await BenchProcess.start(name, script, env, nodeArgs)
  servers.push(server)
  return server
}

/** Where each tokenpair server gets its tokens: a minter process on the same database. */
const minters = new Map<BenchProcess, BenchProcess>()
const sqliteFile = join(tmpdir(), `tokenpair-bench-${randomUUID()}.db`)

async function startTokenpair(
  name: string,
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
): Promise<BenchProcess> {
  // A fresh secret per run, handed to the two processes of this database only.
  const env = {
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_SECRET: randomBytes(36).toString('base64url'),
    ...extraEnv,
  }
  const server = await startServer(name, 'tokenpair', { ...env, BENCH_ROLE: 'server' }, TOKENPAIR_NODE_FLAGS)
  const minter = await BenchProcess.start(`${name} (minter)`, 'tokenpair', {
    ...env,
    BENCH_ROLE: 'minter',
    // DPoP proofs name the URL they are for (`htu`).
    BENCH_SERVER_URL: server.url,
  })
  minters.set(server, minter)
  return server
}

/**
 * `size` tokenpair servers on one PostgreSQL database and one Redis, as a deployment behind a
 * balancer runs them; the first one's minter makes the credentials of all.
 */
async function startCluster(databaseUrl: string, size: number): Promise<BenchProcess[]> {
  const env = {
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_SECRET: randomBytes(36).toString('base64url'),
    BENCH_REDIS_URL: REDIS_URL,
  }
  const name = (i: number) => `tokenpair ×${size} on PostgreSQL + Redis (${i + 1})`
  const first = await startTokenpair(name(0), databaseUrl, env)
  const group = [first]
  for (let i = 1; i < size; i++) {
    const server = await startServer(
      name(i),
      'tokenpair',
      { ...env, BENCH_ROLE: 'server' },
      TOKENPAIR_NODE_FLAGS,
    )
    minters.set(server, minters.get(first)!)
    group.push(server)
  }
  return group
}

/** Loads run side by side on several servers, summed up as one: their rates add, the worst p99 counts. */
function combine(summaries: LoadSummary[]): LoadSummary {
  const seconds = Math.max(...summaries.map((s) => s.seconds))
  const ok = summaries.reduce((n, s) => n + s.ok, 0)
  return {
    perSecond: ok / seconds,
    ok,
    failed: summaries.reduce((n, s) => n + s.failed, 0),
    p50: Math.max(...summaries.map((s) => s.p50)),
    p99: Math.max(...summaries.map((s) => s.p99)),
    seconds,
  }
}

/** The process that makes credentials for `server`: its minter, or the server itself. */
function sourceOf(server: BenchProcess): BenchProcess {
  return minters.get(server) ?? server
}

function withCredential(request: LoadRequest, credential: BenchCredential): LoadRequest {
  const headers = { ...request.headers, [credential.header]: credential.value }
  if (credential.dpop !== undefined) headers.dpop = credential.dpop
  return { ...request, headers }
}

function protectedGet(credential: BenchCredential): LoadRequest[] {
  return [withCredential({ method: 'GET', path: PROTECTED }, credential)]
}

const JSON_BEARER = { 'content-type': 'application/json', 'x-auth-mode': 'bearer' }
const REFRESH: LoadRequest = { method: 'POST', path: '/auth/refresh', headers: JSON_BEARER }
const withRefreshToken = (request: LoadRequest, refreshToken: string): LoadRequest => ({
  ...request,
  body: JSON.stringify({ refreshToken }),
})
/** How many refreshes the next round sends: about `DURATION` seconds at this round's rate. */
const nextAmount = (summary: LoadSummary): number =>
  Math.max(1000, Math.min(30_000, Math.round(summary.perSecond * DURATION)))

/** `pool` cut in one slice per server, each loaded by `run` at the same time, summed as one. */
async function splitAmong<T>(
  group: BenchProcess[],
  pool: T[],
  run: (server: BenchProcess, slice: T[]) => Promise<LoadSummary>,
): Promise<LoadSummary> {
  const share = Math.ceil(pool.length / group.length)
  return combine(
    await Promise.all(group.map((server, i) => run(server, pool.slice(i * share, (i + 1) * share)))),
  )
}

interface BenchCase {
  id: string
  run(): Promise<LoadSummary>
}

const results = new Map<string, LoadSummary[]>()
function record(id: string, summary: LoadSummary): void {
  const list = results.get(id) ?? []
  list.push(summary)
  results.set(id, list)
  log(`${id}: ${summary.perSecond.toFixed(0)}/s p99 ${summary.p99} ms failed ${summary.failed}`)
}

function argon2Alone(seconds: number): LoadSummary {
  const script = fileURLToPath(new URL('./argon2-alone.ts', import.meta.url))
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, String(seconds), '8'], {
    encoding: 'utf8',
    timeout: (seconds + 60) * 1000,
  })
  const { perSecond, done, elapsed } = JSON.parse(out) as { perSecond: number; done: number; elapsed: number }
  return { perSecond, ok: done, failed: 0, p50: 0, p99: 0, seconds: elapsed }
}

try {
  if (!values.tsx) {
    log('bundling the servers with esbuild')
    removeBuild = await buildBenchServers([
      'bare-express',
      'tokenpair',
      'jose-check',
      'express-jwt',
      'passport-jwt',
      'better-auth',
    ])
  }
  log('starting servers')
  const bare = await startServer('bare Express 5', 'bare-express')
  const tokenpair = await startTokenpair('tokenpair requireAuth', `sqlite:${sqliteFile}`)
  const tokenpairHS256 = await startTokenpair('tokenpair requireAuth (HS256)', `sqlite:${sqliteFile}-hs256`, {
    BENCH_ACCESS_SECRET: randomBytes(36).toString('base64url'),
  })
  const jose = await startServer('hand-written jose (EdDSA)', 'jose-check')
  const expressJwt = await startServer('express-jwt (ES256)', 'express-jwt')
  const passportJwt = await startServer('passport-jwt (ES256)', 'passport-jwt')
  const betterAuth = await startServer('better-auth getSession', 'better-auth')
  // Logins have a server of their own: argon2's memory (19 MiB a hash) would otherwise sit in the
  // RSS read of the EdDSA server, and the latency cases measure a GET beside the logins.
  const tokenpairLogins = await startTokenpair('tokenpair logins', `sqlite:${sqliteFile}-logins`)
  const betterAuthRefresh = await startServer(
    'better-auth getSession extending the session, SQLite',
    'better-auth',
    {
      BENCH_BETTER_AUTH_UPDATE_AGE: '0',
    },
  )
  let tokenpairPg: BenchProcess | null = null
  let betterAuthRefreshPg: BenchProcess | null = null
  let cluster: BenchProcess[] = []
  try {
    const [one, two, three] = [
      await createBenchDatabase(),
      await createBenchDatabase(),
      await createBenchDatabase(),
    ]
    databases.push(one, two, three)
    tokenpairPg = await startTokenpair('tokenpair on PostgreSQL', one.url)
    betterAuthRefreshPg = await startServer(
      'better-auth getSession extending the session, PostgreSQL',
      'better-auth',
      {
        BENCH_DATABASE_URL: two.url,
        BENCH_BETTER_AUTH_UPDATE_AGE: '0',
      },
    )
    cluster = await startCluster(three.url, CLUSTER_SIZE)
  } catch (error) {
    notes.push(`The PostgreSQL cases were not all measured: ${String(error).split('\n')[0]}`)
    log(notes.at(-1)!)
  }

  const sameTokenServers = [bare, tokenpair, jose, expressJwt, passportJwt, betterAuth]
  const credentials = new Map<BenchProcess, BenchCredential>()
  for (const server of sameTokenServers) credentials.set(server, await sourceOf(server).readCredential())
  // The baseline gets the very request tokenpair gets (it ignores the token): the bytes parsed
  // are the same, so the ratio holds what the check costs, not what a 700-byte header costs.
  credentials.set(bare, credentials.get(tokenpair)!)
  const loginBody = JSON.stringify(await sourceOf(tokenpairLogins).readLoginBody())
  const betterAuthLoginBody = JSON.stringify(await betterAuth.readLoginBody())
  const betterAuthRefreshers = [betterAuthRefresh, betterAuthRefreshPg].filter((s) => s !== null)
  for (const server of [...betterAuthRefreshers, tokenpairLogins]) {
    credentials.set(server, await sourceOf(server).readCredential())
  }

  const cases: BenchCase[] = []
  /** The protected GET of `server` with its one credential on every request, for `DURATION`. */
  const oneCredentialGet = (id: string, server: BenchProcess): BenchCase => ({
    id,
    run: () =>
      runLoad({
        url: server.url,
        connections: CONNECTIONS,
        duration: DURATION,
        requests: protectedGet(credentials.get(server)!),
      }),
  })
  for (const server of sameTokenServers) cases.push(oneCredentialGet(`same:${server.name}`, server))
  /** A protected GET that sends each credential of a pool once (a new token, or a new proof). */
  function pooledGet(
    id: string,
    server: BenchProcess,
    readPool: () => Promise<BenchCredential[]>,
  ): BenchCase {
    return {
      id,
      async run() {
        const pool = await readPool()
        const load = rotateThrough({ method: 'GET', path: PROTECTED }, pool, withCredential)
        const summary = await runLoad({
          url: server.url,
          connections: CONNECTIONS,
          duration: DURATION,
          requests: load.requests,
        })
        if (load.used() > pool.length) notes.push(`${id}: the pool wrapped in one round`)
        return summary
      },
    }
  }
  // The same DPoP-bound access token on every request, each with its own proof: the verified-token
  // cache serves the token, the proof (a signature, its claims, the replay store) is checked each time.
  cases.push(
    pooledGet(`same:${tokenpair.name}, DPoP-bound (a new proof each request)`, tokenpair, () =>
      sourceOf(tokenpair).readDPoPCredentialPool(POOL_SIZE),
    ),
  )
  for (const server of [tokenpair, tokenpairHS256, jose, expressJwt, passportJwt]) {
    cases.push(pooledGet(`pool:${server.name}`, server, () => sourceOf(server).readCredentialPool(POOL_SIZE)))
  }

  /**
   * A refresh with one fresh refresh token per request; the pool is sized from the previous
   * round's rate so that a round lasts about `duration` seconds, and the load stops when it is spent.
   */
  function refreshCase<T>(
    id: string,
    server: BenchProcess,
    readPool: (amount: number) => Promise<T[]>,
    apply: (request: LoadRequest, item: T) => LoadRequest,
  ): BenchCase {
    let amount = 3000
    return {
      id,
      async run() {
        const pool = await readPool(amount)
        const load = rotateThrough(REFRESH, pool, apply)
        const summary = await runLoad({
          url: server.url,
          connections: CONNECTIONS,
          amount,
          requests: load.requests,
        })
        amount = nextAmount(summary)
        return summary
      },
    }
  }
  for (const server of [tokenpair, tokenpairPg]) {
    if (server === null) continue
    cases.push(
      refreshCase(
        `refresh:${server === tokenpair ? 'SQLite' : 'PostgreSQL'}`,
        server,
        (amount) => sourceOf(server).readRefreshPool(amount),
        withRefreshToken,
      ),
    )
  }
  cases.push(
    refreshCase(
      'refresh:SQLite, DPoP-bound',
      tokenpair,
      (amount) => sourceOf(tokenpair).readDPoPRefreshPool(amount),
      (r, bound) => ({
        ...r,
        headers: { ...r.headers, dpop: bound.proof },
        body: JSON.stringify({ refreshToken: bound.refreshToken }),
      }),
    ),
  )
  // better-auth has no refresh token; its nearest operation is a session check that extends the
  // session (updateAge 0): a read and a write of the session row on every request.
  for (const server of betterAuthRefreshers) {
    const database = server === betterAuthRefresh ? 'SQLite' : 'PostgreSQL'
    cases.push(oneCredentialGet(`refresh:better-auth session extended, ${database}`, server))
  }
  if (cluster.length > 0) {
    const perServer = Math.ceil(CONNECTIONS / cluster.length)
    let amount = 3000
    cases.push({
      id: 'cluster:refresh',
      async run() {
        const pool = await sourceOf(cluster[0]!).readRefreshPool(amount)
        const summary = await splitAmong(cluster, pool, (server, slice) =>
          runLoad({
            url: server.url,
            connections: perServer,
            amount: slice.length,
            requests: rotateThrough(REFRESH, slice, withRefreshToken).requests,
          }),
        )
        amount = nextAmount(summary)
        return summary
      },
    })
    cases.push({
      id: 'cluster:pool',
      async run() {
        const pool = await sourceOf(cluster[0]!).readCredentialPool(POOL_SIZE)
        return splitAmong(cluster, pool, (server, slice) =>
          runLoad({
            url: server.url,
            connections: perServer,
            duration: DURATION,
            requests: rotateThrough({ method: 'GET', path: PROTECTED }, slice, withCredential).requests,
          }),
        )
      },
    })
  }
  const loginRequests: LoadRequest[] = [
    { method: 'POST', path: '/auth/login', headers: JSON_BEARER, body: loginBody },
  ]
  cases.push({
    id: 'login',
    run: () =>
      runLoad({ url: tokenpairLogins.url, connections: 16, duration: DURATION, requests: loginRequests }),
  })
  cases.push({
    id: 'login:better-auth sign-in',
    run: () =>
      runLoad({
        url: betterAuth.url,
        connections: 16,
        duration: DURATION,
        requests: [
          {
            method: 'POST',
            path: '/api/auth/sign-in/email',
            headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1' },
            body: betterAuthLoginBody,
          },
        ],
      }),
  })
  cases.push({ id: 'argon2-alone', run: async () => argon2Alone(DURATION) })
  const latencyLoad = () =>
    runLoad({
      url: tokenpairLogins.url,
      connections: 10,
      duration: DURATION,
      overallRate: LATENCY_RATE,
      requests: protectedGet(credentials.get(tokenpairLogins)!),
    })
  cases.push({ id: 'latency:idle', run: latencyLoad })
  cases.push({
    id: 'latency:during-login',
    async run() {
      const [latency, login] = await Promise.all([
        latencyLoad(),
        runLoad({ url: tokenpairLogins.url, connections: 16, duration: DURATION, requests: loginRequests }),
      ])
      record('login:during-latency', login)
      return latency
    },
  })

  const only = values.only!.split(',').filter((p) => p !== '')
  if (only.length > 0) {
    const kept = cases.filter((c) => only.some((prefix) => c.id.startsWith(prefix)))
    cases.splice(0, cases.length, ...kept)
    notes.push(`Only the cases ${only.join(', ')} were run (--only).`)
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one case further along, so no case always runs first or last.
    const order = cases.map((_, i) => cases[(i + round) % cases.length]!)
    log(`round ${round + 1} of ${ROUNDS}`)
    for (const benchCase of order) record(benchCase.id, await benchCase.run())
  }

  const soakSamples: { second: number; rss: number }[] = []
  if (SOAK > 0) {
    log(`soak: ${SOAK}s of protected GET (pooled tokens) and refresh on tokenpair`)
    const soakStart = Date.now()
    const sample = setInterval(() => {
      const rss = tokenpair.readRSS()
      if (rss !== null) soakSamples.push({ second: (Date.now() - soakStart) / 1000, rss })
    }, 2000)
    try {
      const pool = await sourceOf(tokenpair).readCredentialPool(POOL_SIZE)
      let slice = 0
      while (Date.now() - soakStart < SOAK * 1000) {
        if (slice % 2 === 0) {
          const load = rotateThrough({ method: 'GET', path: PROTECTED }, pool, withCredential)
          record(
            'soak:get',
            await runLoad({
              url: tokenpair.url,
              connections: CONNECTIONS,
              duration: 10,
              requests: load.requests,
            }),
          )
        } else {
          const refreshPool = await sourceOf(tokenpair).readRefreshPool(5000)
          const load = rotateThrough(REFRESH, refreshPool, withRefreshToken)
          record(
            'soak:refresh',
            await runLoad({
              url: tokenpair.url,
              connections: CONNECTIONS,
              amount: 5000,
              requests: load.requests,
            }),
          )
        }
        slice++
      }
    } finally {
      clearInterval(sample)
    }
  }

  const memory = servers.map((s) => ({ name: s.name, rss: s.readRSS() }))
  const caseResults: CaseResult[] = [...results].map(([id, runs]) => ({ id, runs }))
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date(),
    rounds: ROUNDS,
    duration: DURATION,
    connections: CONNECTIONS,
    soakSeconds: SOAK,
    latencyRate: LATENCY_RATE,
    cases: caseResults,
    memory,
    soakSamples,
    notes: [...new Set(notes)],
    argv: process.argv.slice(2),
    runtime: values.tsx ? 'tsx' : 'bundled',
    nodeFlags: TOKENPAIR_NODE_FLAGS,
  }
  writeReport(values.out!, report)
  log(`wrote ${values.out}`)
} finally {
  await Promise.all([...servers, ...minters.values()].map((s) => s.stop()))
  removeBuild?.()
  for (const database of databases) await database.drop()
  for (const file of [sqliteFile, `${sqliteFile}-hs256`, `${sqliteFile}-logins`]) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
  }
}
