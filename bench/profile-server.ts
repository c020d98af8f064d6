import { randomBytes, randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchProcess } from './bench-process.js'
import { rotateThrough, runLoad } from './load.js'

// Loads one tokenpair bench server for a few seconds while it writes a CPU profile, with a reused
// token (`same`), a new token on every request (`pool`) or refreshes (`refresh`):
// `node --import tsx bench/profile-server.ts [seconds] [same|pool|refresh] [node flags…]`. The profile lands in the
// directory named by BENCH_PROFILE_DIR (default: the OS temp folder).
const seconds = Number(process.argv[2] ?? '5')
const mode = (['pool', 'refresh'] as const).find((m) => m === process.argv[3]) ?? 'same'
const file = join(tmpdir(), `tokenpair-profile-${randomUUID()}.db`)
const profileDir = process.env.BENCH_PROFILE_DIR ?? tmpdir()
const nodeFlags = process.argv.slice(4)
const env = {
  BENCH_DATABASE_URL: `sqlite:${file}`,
  BENCH_SECRET: randomBytes(36).toString('base64url'),
}
const server = await BenchProcess.start('tokenpair', 'tokenpair', { ...env, BENCH_ROLE: 'server' }, [
  ...nodeFlags,
  '--cpu-prof',
  `--cpu-prof-dir=${profileDir}`,
])
const minter = await BenchProcess.start('minter', 'tokenpair', { ...env, BENCH_ROLE: 'minter' })
try {
  const base = { method: 'GET', path: '/api/protected' }
  const refreshRequests = async () =>
    rotateThrough(
      {
        method: 'POST',
        path: '/auth/refresh',
        headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
      },
      await minter.readRefreshPool(seconds * 1500),
      (request, token) => ({ ...request, body: JSON.stringify({ refreshToken: token }) }),
    ).requests
  const requests =
    mode === 'refresh'
      ? await refreshRequests()
      : mode === 'pool'
        ? rotateThrough(base, await minter.readCredentialPool(seconds * 12_000), (request, credential) => ({
            ...request,
            headers: { [credential.header]: credential.value },
          })).requests
        : [{ ...base, headers: await minter.readCredential().then((c) => ({ [c.header]: c.value })) }]
  const result = await runLoad({ url: server.url, connections: 50, duration: seconds, requests })
  process.stdout.write(
    `${result.perSecond.toFixed(0)}/s, failed ${result.failed}; profile in ${profileDir}\n`,
  )
} finally {
  await Promise.all([server.stop(), minter.stop()])
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
}
