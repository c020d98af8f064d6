import { randomBytes, randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchProcess, buildBenchServers } from './bench-process.js'
import { type LoadRequest, rotateThrough, runLoad } from './load.js'

// Which path leaves memory behind: one bundled tokenpair server (SQLite), RSS read after each
// load phase. `node --import tsx bench/memory-phases.ts [seconds per phase] [node flags of the server…]`
const seconds = Number(process.argv[2] ?? '5')
const nodeArgs = process.argv.slice(3)
const file = join(tmpdir(), `tokenpair-memory-${randomUUID()}.db`)
const env = { BENCH_DATABASE_URL: `sqlite:${file}`, BENCH_SECRET: randomBytes(36).toString('base64url') }
const removeBuild = await buildBenchServers(['tokenpair'])
const server = await BenchProcess.start('tokenpair', 'tokenpair', { ...env, BENCH_ROLE: 'server' }, nodeArgs)
const minter = await BenchProcess.start('minter', 'tokenpair', { ...env, BENCH_ROLE: 'minter' })
const mb = (n: number | null) => (n === null ? '–' : `${(n / 1024 / 1024).toFixed(0)} MB`)
const report = async (phase: string) => {
  const m = await server.readMemoryUsage()
  // What is neither V8's heap nor a buffer is native: malloc arenas, thread stacks, code.
  const native = m.rss - m.heapTotal - m.external
  process.stdout.write(
    `${phase.padEnd(28)} rss ${mb(m.rss)}  heap ${mb(m.heapUsed)}/${mb(m.heapTotal)}  external ${mb(m.external)}  native ${mb(native)}\n`,
  )
}
const json = { 'content-type': 'application/json', 'x-auth-mode': 'bearer' }
try {
  await report('idle')
  const credential = await minter.readCredential()
  const load = (requests: LoadRequest[], amount?: number) =>
    runLoad({ url: server.url, connections: 50, ...(amount ? { amount } : { duration: seconds }), requests })
  await load([{ method: 'GET', path: '/api/protected', headers: { [credential.header]: credential.value } }])
  await report('after same-token GET')
  const pool = await minter.readCredentialPool(40_000)
  await load(
    rotateThrough({ method: 'GET', path: '/api/protected' }, pool, (r, c) => ({
      ...r,
      headers: { [c.header]: c.value },
    })).requests,
  )
  await report('after new-token GET')
  const refreshPool = await minter.readRefreshPool(4000)
  await load(
    rotateThrough({ method: 'POST', path: '/auth/refresh', headers: json }, refreshPool, (r, t) => ({
      ...r,
      body: JSON.stringify({ refreshToken: t }),
    })).requests,
    4000,
  )
  await report('after 4,000 refreshes')
  const body = JSON.stringify(await minter.readLoginBody())
  await runLoad({
    url: server.url,
    connections: 16,
    duration: seconds,
    requests: [{ method: 'POST', path: '/auth/login', headers: json, body }],
  })
  await report('after logins')
} finally {
  await Promise.all([server.stop(), minter.stop()])
  removeBuild()
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
}
