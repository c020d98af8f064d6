import { readFileSync } from 'node:fs'

// Sums a V8 CPU profile (`--cpu-prof`, as bench/profile-server.ts writes) by where the time went:
// `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top N]`. Self time per bucket
// (idle, GC, tokenpair's own code, Express and its middleware, Node's internals, the rest), then
// the N functions with the most self time.
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile> [top N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfTime = new Map<number, number>()
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})

function bucketOf(node: ProfileNode): string {
  const { functionName, url } = node.callFrame
  if (functionName === '(idle)') return 'idle'
  if (functionName === '(garbage collector)') return 'garbage collector'
  if (functionName === '(program)') return 'program (native, outside JavaScript)'
  if (/\/src\/|tokenpair\.mjs/.test(url) && !url.includes('node_modules')) return 'tokenpair'
  if (/node_modules\/(express|router|body-parser|finalhandler|send|qs|cookie)/.test(url)) return 'express'
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('node_modules')) return 'other packages'
  return 'native or builtin'
}

const buckets = new Map<string, number>()
const functions = new Map<string, number>()
let total = 0
for (const [id, time] of selfTime) {
  const node = byId.get(id)!
  total += time
  const bucket = bucketOf(node)
  buckets.set(bucket, (buckets.get(bucket) ?? 0) + time)
  const { functionName, url, lineNumber } = node.callFrame
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '')}:${lineNumber + 1}`
  functions.set(name, (functions.get(name) ?? 0) + time)
}
const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)}%`
process.stdout.write(`total ${(total / 1e6).toFixed(2)} s sampled\n`)
for (const [bucket, time] of [...buckets].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`${pct(time)}  ${bucket}\n`)
}
process.stdout.write('\n')
for (const [name, time] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? '15'))) {
  process.stdout.write(`${pct(time)}  ${name}\n`)
}
