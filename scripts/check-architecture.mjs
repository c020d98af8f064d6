// Checks the layout rules of docs/architecture.md on src/: which folder may import which, no
// import cycle between folders, the public verifier kept away from storage and sessions, and no
// source file over 400 lines. Type-only imports count: they are coupling too. Run by `npm test`.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
const MAX_LINES = 400

/** Folders that hold the domain: they never reach the HTTP layer, the server or the CLI. */
const DOMAIN = ['config', 'tokens', 'sessions', 'users', 'storage', 'limits']
const OUTER = ['express', 'server', 'cli']

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : []
  })
}

const isTest = (file) => /\.(test|spec)\.ts$/.test(file)
const files = walk(src).filter((file) => !isTest(file))

/** `src/a/b.ts` → `a`; a file at the top of src/ is its own unit (`errors.ts`). */
function unitOf(file) {
  const rel = relative(src, file).split('\\').join('/')
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel
}

// Every static and dynamic import or re-export, type-only included; comments are stripped first.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g

function importsOf(file) {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
  const found = []
  for (const match of text.matchAll(SPECIFIER)) found.push(match[2])
  return found
}

function resolveImport(file, specifier) {
  if (!specifier.startsWith('.')) return null
  const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts')
  return target.startsWith(src) ? target : null
}

const problems = []
const edges = new Map() // file → local files it imports
const unitEdges = new Map() // unit → Map(unit → an example "file → file")

for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n').length - 1
  const rel = relative(root, file)
  if (lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES})`)
  const from = unitOf(file)
  const targets = []
  for (const specifier of importsOf(file)) {
    if (from === 'client' && specifier.startsWith('node:')) {
      problems.push(`${rel}: the client imports ${specifier} (it must run in browsers)`)
    }
    const target = resolveImport(file, specifier)
    if (target === null) continue
    targets.push(target)
    const to = unitOf(target)
    if (to === from) continue
    if (!unitEdges.has(from)) unitEdges.set(from, new Map())
    const example = `${rel} → ${relative(root, target)}`
    if (!unitEdges.get(from).has(to)) unitEdges.get(from).set(to, example)
    if (DOMAIN.includes(from) && OUTER.includes(to))
      problems.push(`${example}: ${from}/ may not import ${to}/`)
    if (from === 'client' && to !== 'protocol') problems.push(`${example}: client/ imports only protocol/`)
    if (from === 'protocol') problems.push(`${example}: protocol/ imports nothing outside itself`)
  }
  edges.set(file, targets)
}

// The verifier is for services without a database: no chain of imports may reach storage or sessions.
const start = join(src, 'verify', 'index.ts')
const seen = new Map([[start, null]])
const queue = [start]
while (queue.length > 0) {
  const file = queue.shift()
  for (const target of edges.get(file) ?? []) {
    if (seen.has(target)) continue
    seen.set(target, file)
    queue.push(target)
    const unit = unitOf(target)
    if (unit === 'storage' || unit === 'sessions') {
      const chain = [target]
      for (let at = file; at !== null; at = seen.get(at)) chain.unshift(at)
      problems.push(`tokenpair/verify reaches ${unit}/: ${chain.map((f) => relative(root, f)).join(' → ')}`)
    }
  }
}

// Cycles between units (Tarjan's strongly connected components).
let index = 0
const stack = []
const state = new Map()
function connect(unit) {
  const entry = { index, low: index, onStack: true }
  index++
  state.set(unit, entry)
  stack.push(unit)
  for (const next of unitEdges.get(unit)?.keys() ?? []) {
    if (!state.has(next)) {
      connect(next)
      entry.low = Math.min(entry.low, state.get(next).low)
    } else if (state.get(next).onStack) entry.low = Math.min(entry.low, state.get(next).index)
  }
  if (entry.low !== entry.index) return
  const component = []
  let member
  do {
    member = stack.pop()
    state.get(member).onStack = false
    component.push(member)
  } while (member !== unit)
  if (component.length < 2) return
  const inside = new Set(component)
  const examples = component.flatMap((a) =>
    [...(unitEdges.get(a) ?? [])].filter(([b]) => inside.has(b)).map(([, example]) => `    ${example}`),
  )
  problems.push(`import cycle between ${component.sort().join(', ')}:\n${examples.join('\n')}`)
}
for (const unit of unitEdges.keys()) if (!state.has(unit)) connect(unit)

if (problems.length > 0) {
  process.stderr.write(
    `architecture: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`,
  )
  process.exit(1)
}
process.stdout.write(
  `architecture: ${files.length} files, layering, cycles and sizes as docs/architecture.md says\n`,
)
