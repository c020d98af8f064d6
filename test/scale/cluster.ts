import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { requireRedis } from '../helpers/redis.js'
import { findTestServer } from '../helpers/test-database.js'

const CLI = fileURLToPath(new URL('../../src/cli/tokenpair.ts', import.meta.url))

export { REDIS_URL } from '../helpers/redis.js'

/**
 * Whether PostgreSQL and Redis answer. Under CI an unreachable one is a failure (thrown, so the
 * file fails); elsewhere the scale tests skip with one line saying why.
 */
export async function requireServices(file: string): Promise<boolean> {
  const [postgres, redis] = await Promise.all([findTestServer('postgres'), requireRedis(file)])
  return postgres !== null && redis
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
