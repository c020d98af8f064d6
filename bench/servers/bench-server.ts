import { writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import type { Express } from 'express'

/**
 * What a bench server can make for the runner. Every command writes its answer as JSON to the
 * file the runner names, so that large token pools never travel through a pipe line by line.
 */
export interface BenchCommands {
  /** The value of the `Authorization` header (or `Cookie`) that opens the protected route. */
  credential?(): Promise<BenchCredential>
  /** `count` different valid credentials, for the "new token each request" case. */
  credentialPool?(count: number): Promise<BenchCredential[]>
  /** `count` fresh refresh tokens, each of its own session, for the refresh case. */
  refreshPool?(count: number): Promise<string[]>
  /** A user that can log in: `{ login, password }`. */
  loginBody?(): Promise<Record<string, string>>
  /**
   * `count` credentials of one DPoP-bound session: the same access token (`Authorization: DPoP`),
   * each with a fresh proof for the protected GET.
   */
  dpopCredentialPool?(count: number): Promise<BenchCredential[]>
  /** `count` fresh refresh tokens of DPoP-bound sessions, each with a proof for `POST /auth/refresh`. */
  dpopRefreshPool?(count: number): Promise<BoundRefreshToken[]>
}

/** A refresh token of a DPoP-bound session and a proof that goes with it. */
export interface BoundRefreshToken {
  refreshToken: string
  proof: string
}

/** A header that authenticates one request. */
export interface BenchCredential {
  header: 'authorization' | 'cookie'
  value: string
  /** A DPoP proof to send beside it (the `DPoP` header). */
  dpop?: string
}

interface Command {
  id: number
  name: keyof BenchCommands | 'memory'
  count?: number
  file: string
}

/**
 * Listens on an ephemeral loopback port, prints `{"ready":true,"port":N}` on stdout, then answers
 * the runner's commands, one JSON line each on stdin, with `{"id":N,"ok":true}` once the answer
 * file is written. The process ends when stdin closes, so a dying runner leaves no server behind.
 * With no app (a process that only makes tokens) the port is 0.
 */
export async function serveBench(app: Express | null, commands: BenchCommands): Promise<void> {
  const server =
    app === null
      ? null
      : await new Promise<Server>((resolve) => {
          const s = app.listen(0, '127.0.0.1', () => resolve(s))
        })
  const port = server === null ? 0 : (server.address() as AddressInfo).port
  process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`)
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    void answerCommand(commands, JSON.parse(line) as Command)
  })
  lines.on('close', () => {
    if (server === null) process.exit(0)
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}

async function answerCommand(commands: BenchCommands, command: Command): Promise<void> {
  try {
    // `memory` is every server's: where its RSS lies (V8's heap, buffers, the rest native).
    const handler =
      command.name === 'memory'
        ? async () => process.memoryUsage()
        : (commands[command.name] as ((count: number) => Promise<unknown>) | undefined)
    if (!handler) throw new Error(`unsupported command ${command.name}`)
    const answer = await handler.call(commands, command.count ?? 1)
    writeFileSync(command.file, JSON.stringify(answer))
    process.stdout.write(`${JSON.stringify({ id: command.id, ok: true })}\n`)
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ id: command.id, ok: false, error: String(error) })}\n`)
  }
}

/** Runs `make` `count` times, `width` at a time, in order. */
export async function makeMany<T>(
  count: number,
  width: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const i = next++
        out[i] = await make(i)
      }
    }),
  )
  return out
}
