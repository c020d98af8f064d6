import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_SECRET } from '../helpers/test-server.js'

const CLI = join(import.meta.dirname, '../../src/cli/tokenpair.ts')

/** The CLI compiled to one file by {@link bundleCLI}, or `null` to run the sources through tsx. */
let bundled: string | null = null

/**
 * Compiles the CLI once (esbuild, dependencies left external) and makes {@link spawnCLI} run the
 * result: the same code as `dist/cli/tokenpair.js`, without tsx compiling every import again in
 * each of the dozens of processes a CLI test starts. The file lives in `node_modules/.cache` so
 * that its imports resolve; call the returned function to delete it.
 */
export async function bundleCLI(): Promise<() => void> {
  const { build } = await import('esbuild')
  const dir = join(import.meta.dirname, '../../node_modules/.cache/tokenpair-ops')
  mkdirSync(dir, { recursive: true })
  const outfile = join(dir, `cli-${process.pid}-${Date.now()}.mjs`)
  await build({
    entryPoints: [CLI],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  })
  bundled = outfile
  const remove = () => {
    bundled = null
    rmSync(outfile, { force: true })
  }
  // Also when the worker ends without running afterAll (a timeout, an interrupted run).
  process.once('exit', remove)
  return remove
}

/** A temporary data folder with an SQLite file, shared by CLI processes and in-process servers. */
export interface TempData {
  dir: string
  databaseUrl: string
  env: Record<string, string>
  remove(): void
}

/** Makes a temporary data folder; `env` is what a CLI process needs to use it. */
export function createTempData(extra: Record<string, string> = {}): TempData {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-ops-'))
  const databaseUrl = `sqlite:${join(dir, 'tokenpair.db')}`
  return {
    dir,
    databaseUrl,
    env: {
      DATA_DIR: dir,
      DATABASE_URL: databaseUrl,
      AUTH_SECRET: TEST_SECRET,
      LOG_LEVEL: 'silent',
      ...extra,
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** What a finished CLI run gave. */
export interface CLIResult {
  code: number | null
  stdout: string
  stderr: string
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // Only what the CLI needs: the test's own DATABASE_URL or AUTH_SECRET must not leak in.
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env }
}

/** Spawns the real CLI (`node --import tsx src/cli/tokenpair.ts …`). */
export function spawnCLI(args: string[], env: Record<string, string>): ChildProcess {
  const entry = bundled === null ? ['--import', 'tsx', CLI] : [bundled]
  return spawn(process.execPath, [...entry, ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

/** Runs the CLI to its end (at most 30 s) and collects its output. */
export function runCLI(args: string[], env: Record<string, string>, stdin?: string): Promise<CLIResult> {
  const child = spawnCLI(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdin!.end(stdin ?? '')
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tokenpair ${args.join(' ')} did not finish in 30 s`))
    }, 30_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
