import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { BenchCredential, BoundRefreshToken } from './servers/bench-server.js'

const SERVERS_DIR = fileURLToPath(new URL('./servers/', import.meta.url))

const ROOT = fileURLToPath(new URL('../', import.meta.url))

/** Where {@link buildBenchServers} put the bundled servers, or `null`: run the sources with tsx. */
let builtDir: string | null = null

/**
 * Bundles every bench server with esbuild (npm packages left as imports) into a folder of the OS
 * temp directory, so that the servers run as plain JavaScript: tsx costs each process about 55 MB
 * of memory and some start-up time, which is not what a user's server pays. Returns the remover.
 */
export async function buildBenchServers(scripts: readonly string[]): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpair-bench-build-'))
  // The bundles import npm packages by name: resolution walks up from the bundle's folder.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n')
  await build({
    entryPoints: scripts.map((s) => ({ in: join(SERVERS_DIR, `${s}.ts`), out: s })),
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  })
  builtDir = dir
  return () => {
    builtDir = null
    rmSync(dir, { recursive: true, force: true })
  }
}

/** How long a server may take to start or to answer one command before the run gives up. */
const START_TIMEOUT_MS = 60_000
const COMMAND_TIMEOUT_MS = 120_000

interface Reply {
  id?: number
  ok?: boolean
  error?: string
  ready?: boolean
  port?: number
}

/**
 * One bench server, in its own process (`node --import tsx bench/servers/NAME.ts`), driven over
 * its stdin and stdout (bench-server.ts). It exits when its stdin closes.
 */
export class BenchProcess {
  readonly name: string
  readonly url: string
  readonly #child: ChildProcess
  readonly #waiting = new Map<number, (reply: Reply) => void>()
  #nextId = 1

  private constructor(name: string, child: ChildProcess, port: number) {
    this.name = name
    this.#child = child
    this.url = `http://127.0.0.1:${port}`
  }

  /** Starts `bench/servers/<script>.ts` (after `nodeArgs`, e.g. `--cpu-prof`) and waits for its ready line. */
  static async start(
    name: string,
    script: string,
    env: Record<string, string> = {},
    nodeArgs: readonly string[] = [],
  ): Promise<BenchProcess> {
    const child = spawn(
      process.execPath,
      builtDir === null
        ? [...nodeArgs, '--import', 'tsx', join(SERVERS_DIR, `${script}.ts`)]
        : [...nodeArgs, join(builtDir, `${script}.mjs`)],
      {
        env: { ...process.env, NODE_ENV: 'production', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    const lines = createInterface({ input: child.stdout! })
    let bench: BenchProcess | null = null
    return await new Promise<BenchProcess>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${name} did not start in time: ${stderr}`))
      }, START_TIMEOUT_MS)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited with ${code}: ${stderr}`))
      })
      lines.on('line', (line) => {
        let reply: Reply
        try {
          reply = JSON.parse(line) as Reply
        } catch {
          return
        }
        if (reply.ready && reply.port !== undefined && bench === null) {
          clearTimeout(timer)
          bench = new BenchProcess(name, child, reply.port)
          resolve(bench)
        } else if (bench !== null && reply.id !== undefined) {
          bench.#waiting.get(reply.id)?.(reply)
        }
      })
    })
  }

  /** The process id, for reading its memory. */
  get pid(): number {
    return this.#child.pid!
  }

  /** Resident set size in bytes, from /proc (Linux), or `null` where there is none. */
  readRSS(): number | null {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
      return match ? Number(match[1]) * 1024 : null
    } catch {
      return null
    }
  }

  async #command<T>(name: string, count?: number): Promise<T> {
    const id = this.#nextId++
    const file = join(tmpdir(), `tokenpair-bench-${randomUUID()}.json`)
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: ${name} timed out`)), COMMAND_TIMEOUT_MS)
      this.#waiting.set(id, (r) => {
        clearTimeout(timer)
        resolve(r)
      })
      this.#child.stdin!.write(`${JSON.stringify({ id, name, count, file })}\n`)
    })
    this.#waiting.delete(id)
    if (!reply.ok) throw new Error(`${this.name}: ${name} failed: ${reply.error}`)
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T
    } finally {
      rmSync(file, { force: true })
    }
  }

  /** The server's own `process.memoryUsage()`: V8's heap and buffers beside its RSS. */
  readMemoryUsage(): Promise<NodeJS.MemoryUsage> {
    return this.#command('memory')
  }

  /** One credential that opens the protected route. */
  readCredential(): Promise<BenchCredential> {
    return this.#command('credential')
  }

  /** `count` different credentials. */
  readCredentialPool(count: number): Promise<BenchCredential[]> {
    return this.#command('credentialPool', count)
  }

  /** `count` fresh refresh tokens. */
  readRefreshPool(count: number): Promise<string[]> {
    return this.#command('refreshPool', count)
  }

  /** A login body that succeeds. */
  readLoginBody(): Promise<Record<string, string>> {
    return this.#command('loginBody')
  }

  /** `count` proofs for one DPoP-bound access token. */
  readDPoPCredentialPool(count: number): Promise<BenchCredential[]> {
    return this.#command('dpopCredentialPool', count)
  }

  /** `count` fresh refresh tokens of bound sessions, with their proofs. */
  readDPoPRefreshPool(count: number): Promise<BoundRefreshToken[]> {
    return this.#command('dpopRefreshPool', count)
  }

  /** Closes stdin (the server exits by itself) and kills it if it has not gone within 5 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.stdin!.end()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}
