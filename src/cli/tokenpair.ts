#!/usr/bin/env node
import { resolveDuration } from '../common/duration.js'
import type { ServerConfig } from '../config/env.js'
import { ConfigError, isAuthError } from '../errors.js'
import { startServer } from '../server/start-server.js'
import type { Storage } from '../storage/storage.js'
import { type CommandIO, openCommandContext, parseCommandArgs, processIO } from './cli-support.js'
import { CommandError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './command-errors.js'
import { KEYS_HELP, runKeysCommand } from './keys-command.js'
import { runUsersCommand, USERS_HELP } from './users-command.js'

const HELP = `Usage: tokenpair <command> [options]      (no command: serve)

Commands:
  serve      serve the API of docs/api.md (settings from the environment: PORT, HOST, DATABASE_URL, ...)
  migrate    create or upgrade the database schema, then exit
  sweep      delete expired sessions, refresh tokens and mail tokens now, then exit
  keys       list, rotate or retire signing keys        (tokenpair keys --help)
  users      create, list, disable, enable users, revoke their sessions, reset their second factor
             (tokenpair users --help)

Every command reads the same environment as serve. Exit codes: 0 done, 1 failed, 2 wrong usage.

Options:
  -h, --help  show this help (or a command's: tokenpair <command> --help)
`

const SERVE_HELP = `Usage: tokenpair serve

Serves the API on HOST:PORT (default 127.0.0.1:8000). On SIGTERM or SIGINT it drains: /readyz
answers 503, new connections are refused, requests in flight finish (at most SHUTDOWN_TIMEOUT,
default 10s), the database closes, and the process exits 0.
`

const MIGRATE_HELP = `Usage: tokenpair migrate [--json]

Creates or upgrades the schema of DATABASE_URL. Safe to run from several processes at once.
`

const SWEEP_HELP = `Usage: tokenpair sweep [--json]

Deletes sessions that are dead (past SESSION_MAX_AGE or their idle lifetime), refresh tokens and
mail tokens that have expired, and says how many. Every running instance also does this every
SWEEP_INTERVAL (default 1h); this is for a cron job when that is off.
`

/** What a storage command found: JSON for `--json`, a line for people. */
interface StorageCommandResult {
  json: unknown
  text: string
}

/** Runs a command that takes only `--json` against the migrated storage of the environment. */
async function runStorageCommand(
  args: string[],
  io: CommandIO,
  help: string,
  run: (storage: Storage, config: ServerConfig) => Promise<StorageCommandResult>,
): Promise<number> {
  const { values } = parseCommandArgs(args, { json: { type: 'boolean' } })
  if (values.help) {
    io.out(help)
    return EXIT_OK
  }
  const context = await openCommandContext(process.env, io)
  let result: StorageCommandResult
  try {
    result = await run(context.storage, context.config)
  } finally {
    await context.close()
  }
  io.out(values.json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`)
  return EXIT_OK
}

function sweep(args: string[], io: CommandIO): Promise<number> {
  return runStorageCommand(args, io, SWEEP_HELP, async (storage, config) => {
    const graceMs = resolveDuration('REFRESH_REUSE_GRACE', config.auth.refreshReuseGrace, '10s')
    const result = await storage.deleteExpired(Date.now(), { graceMs })
    return {
      json: result,
      text: `deleted ${result.sessions} sessions, ${result.refreshTokens} refresh tokens, ${result.emailTokens} mail tokens; cleared ${result.sealedSuccessors} sealed successors`,
    }
  })
}

/** Opening the context migrates: nothing is left to do. */
function migrate(args: string[], io: CommandIO): Promise<number> {
  return runStorageCommand(args, io, MIGRATE_HELP, async () => ({
    json: { migrated: true },
    text: 'database schema is up to date',
  }))
}

async function serve(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(args, {})
  if (values.help) {
    io.out(SERVE_HELP)
    return EXIT_OK
  }
  const running = await startServer(process.env)
  io.out(`tokenpair listening on ${running.url}\n`)
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      // Handlers go at the first signal: a second one kills the process the default way.
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await running.stop()
  // Everything is closed; should a forgotten handle still hold the event loop, do not hang the
  // orchestrator: exit anyway shortly after. Unref'd, so a clean exit is not delayed by it.
  setTimeout(() => process.exit(process.exitCode ?? EXIT_OK), 2000).unref()
  return EXIT_OK
}

const COMMANDS: Record<string, { help: string; run: (args: string[], io: CommandIO) => Promise<number> }> = {
  serve: { help: SERVE_HELP, run: serve },
  migrate: { help: MIGRATE_HELP, run: migrate },
  sweep: { help: SWEEP_HELP, run: sweep },
  keys: { help: KEYS_HELP, run: (args, io) => runKeysCommand(args, process.env, io) },
  users: { help: USERS_HELP, run: (args, io) => runUsersCommand(args, process.env, io) },
}

/** Runs the CLI with `argv` (without `node` and the script); returns the exit code. */
async function main(argv: string[], io: CommandIO): Promise<number> {
  // No command at all means serve, as `npx tokenpair` in a container expects.
  const [first = 'serve', ...rest] = argv
  if (first === '-h' || first === '--help' || first === 'help') {
    io.out(HELP)
    return EXIT_OK
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined
  if (!command) {
    io.err(`tokenpair: unknown command ${JSON.stringify(first)}\n\n${HELP}`)
    return EXIT_USAGE
  }
  try {
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`tokenpair ${first}: ${error.message}\n\n${command.help}`)
      return EXIT_USAGE
    }
    if (error instanceof ConfigError) {
      io.err(`tokenpair: configuration error: ${error.message}\n`)
      return EXIT_USAGE
    }
    if (error instanceof CommandError || isAuthError(error)) {
      // The operator needs the driver's reason (refused, unknown database…); HTTP answers never show it.
      const cause = error.cause instanceof Error ? ` (${error.cause.message})` : ''
      io.err(`tokenpair ${first}: ${error.message}${cause}\n`)
      return EXIT_FAILURE
    }
    throw error
  }
}

main(process.argv.slice(2), processIO).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `tokenpair: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exitCode = EXIT_FAILURE
  },
)
