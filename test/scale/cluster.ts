import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const CLI = fileURLToPath(new URL('../../src/cli/tokenpair.ts', import.meta.url))

/** PostgreSQL of the scale tests: `TEST_POSTGRES_URL`, else the local server. */
export const POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
/** Redis of the scale tests: `TEST_REDIS_URL`, else the local server. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

function canConnect(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort) })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Whether PostgreSQL and Redis answer. Under CI an unreachable one is a failure (thrown here, so
 * the file fails); elsewhere the scale tests skip with one line saying why.
 */
export async function requireServices(file: string): Promise<boolean> {
  const [postgres, redis] = await Promise.all([
    canConnect(POSTGRES_ADMIN_URL, 5432),
    REDIS_URL === '' ? Promise.resolve(false) : canConnect(REDIS_URL, 6379),
  ])
  if (postgres && redis) return true
  const missing = [postgres ? null : 'PostgreSQL', redis ? null : 'Redis'].filter(Boolean).join(' and ')
  if (process.env.CI === 'true') throw new Error(`${file}: ${missing} unreachable (CI=true)`)
  console.warn(`${file}: ${missing} unreachable; skipping the multi-instance tests`)
  return false
}

/** An empty PostgreSQL database of one test file, dropped at its end. */
export interface ScratchDatabase {
  url: string
  drop(): Promise<void>
}

/** Creates a database with a name of its own, so that parallel runs never meet. */
export async function createScratchDatabase(tag: string): Promise<ScratchDatabase> {
  const name = `tokenpair_${tag}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
      await client.connect()
      try {
        // FORCE: an instance killed with -9 may leave its connections behind for a while.
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** One `tokenpair serve` process. */
export interface Instance {
  url: string
  child: ChildProcess
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>
  /** SIGTERM (a graceful stop), SIGKILL after 10 s. */
  stop(): Promise<void>
}

/**
 * Starts `tokenpair serve` (through tsx, from the sources) with `env` on an ephemeral port and
 * resolves once it prints the address it listens on.
 */
export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`instance did not start in 60 s: ${stderr}`))
    }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`instance exited with ${code}: ${stderr}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
  })
  return {
    url,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Runs `tokenpair <args>` once with `env` and resolves with its stdout. */
export function runCLI(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tokenpair ${args.join(' ')} failed: ${stderr}`))
        else resolve(stdout)
      },
    )
  })
}
