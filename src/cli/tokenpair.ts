#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { ConfigError } from '../errors.js'
import { startServer } from '../server/start-server.js'

const HELP = `Usage: tokenpair <command>

Commands:
  serve      serve the API of API.md (settings from the environment: PORT, HOST, DATABASE_URL, ...)

Options:
  -h, --help  show this help
`

async function serve(): Promise<number> {
  const running = await startServer(process.env)
  process.stdout.write(`tokenpair listening on ${running.url}\n`)
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await running.stop()
  return 0
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' } },
  })
  const command = positionals[0] ?? 'serve'
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (command === 'serve') return serve()
  process.stderr.write(`tokenpair: unknown command ${JSON.stringify(command)}\n\n${HELP}`)
  return 2
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`tokenpair: configuration error: ${error.message}\n`)
      process.exitCode = 2
      return
    }
    process.stderr.write(
      `tokenpair: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exitCode = 1
  },
)
