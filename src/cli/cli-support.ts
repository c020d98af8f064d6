import { type ParseArgsConfig, parseArgs } from 'node:util'
import { readServerConfig, type ServerConfig } from '../config/env.js'
import { resolveAuthSecret } from '../server/auth-secret.js'
import { describeDatabaseUrl, openStorage } from '../storage/open-storage.js'
import type { Storage } from '../storage/storage.js'
import { CommandError, UsageError } from './command-errors.js'

/** Where a command writes: injected so that output stays in one place. */
export interface CommandIO {
  out(text: string): void
  err(text: string): void
  /** Reads standard input whole (for `--password-stdin`). */
  readStdin(): Promise<string>
}

/** The standard streams of the process. */
export const processIO: CommandIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  async readStdin() {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of process.stdin) {
      const buffer = chunk as Buffer
      size += buffer.length
      // A password is at most 128 characters: refuse a stream that is plainly something else.
      if (size > 4096) throw new CommandError('standard input is too long for a password')
      chunks.push(buffer)
    }
    return Buffer.concat(chunks).toString('utf8')
  },
}

/** Parses a command's own arguments strictly: an unknown option is a usage error. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
    return {
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
    }
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(error.message)
    }
    throw error
  }
}

/** The environment's configuration and an open, migrated storage; `close` when done. */
export interface CommandContext {
  config: ServerConfig
  storage: Storage
  close(): Promise<void>
}

/**
 * Reads the configuration (as `serve` does) and opens the database, creating its schema if
 * needed; says on standard error which database it opened, so that a command run from another
 * folder cannot quietly work on another database.
 */
export async function openCommandContext(
  env: Readonly<Record<string, string | undefined>>,
  io: Pick<CommandIO, 'err'>,
): Promise<CommandContext> {
  const config = readServerConfig(env)
  const storage = await openStorage(config.databaseUrl, { tablePrefix: config.auth.tablePrefix })
  try {
    await storage.migrate()
  } catch (error) {
    await storage.close()
    throw error
  }
  io.err(`tokenpair: database ${describeDatabaseUrl(config.databaseUrl)}\n`)
  return { config, storage, close: () => storage.close() }
}

/**
 * The secret, as `serve` finds it (`resolveAuthSecret`: `AUTH_SECRET`, else the data folder's
 * file, else a new one only for a database without keys), saying on standard error where it
 * came from.
 */
export async function readAuthSecret(context: CommandContext, io: Pick<CommandIO, 'err'>): Promise<string> {
  const found = await resolveAuthSecret(
    context.config,
    async () => (await context.storage.listKeys()).length > 0,
  )
  const where =
    found.from === 'AUTH_SECRET'
      ? 'AUTH_SECRET'
      : `${found.from === 'generated' ? 'generated into ' : ''}${found.path}`
  io.err(`tokenpair: secret from ${where}\n`)
  return found.secret
}
