// `npm start` runs this first: it builds (`npm run build`) only when dist/ is missing or older than
// a source it is made from, so that a start after an unchanged checkout takes no build time.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outputs = ['dist/cli/tokenpair.js', 'dist/index.js', 'dist/browser/tokenpair-client.js']
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build-client.mjs']

function newest(path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
}

function isStale() {
  const paths = outputs.map((file) => join(root, file))
  if (!paths.every((path) => existsSync(path))) return true
  const built = Math.min(...paths.map((path) => statSync(path).mtimeMs))
  return inputs.some((input) => newest(join(root, input)) > built)
}

if (isStale()) {
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  process.exit(result.status ?? 1)
}
