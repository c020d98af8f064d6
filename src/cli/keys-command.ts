import { OPTION_DEFAULTS, resolveDurationOption, resolveOptions } from '../config/options.js'
import type { KeyRecord } from '../storage/storage.js'
import { KeyRing } from '../tokens/keys.js'
import { type CommandIO, openCommandContext, parseCommandArgs, readAuthSecret } from './cli-support.js'
import { CommandError, EXIT_OK, UsageError } from './command-errors.js'
import { formatTable, formatTime } from './format.js'

/** Help of `tokenpair keys`. */
export const KEYS_HELP = `Usage: tokenpair keys <list | rotate | retire <kid>> [--json]

Manage the access-token signing keys in the database (DATABASE_URL).

  list           every key with its status:
                   current    signs new tokens
                   verifying  rotated out; still in JWKS until its last token expires
                   expired    rotated out longer ago than ACCESS_TOKEN_TTL; out of JWKS
                   retired    removed early; its tokens are refused
                   other-alg  made for another JWT_ALG
  rotate         make a new key current now; running servers pick it up within
                 KEY_RELOAD_INTERVAL (default 60s), or at once when they see one of its tokens
  retire <kid>   remove a rotated-out key from JWKS now; tokens it signed are refused
                 (the current key cannot be retired: rotate first)

Options:
  --json      print JSON for scripts
  -h, --help  show this help
`

type KeyStatus = 'current' | 'verifying' | 'expired' | 'retired' | 'other-alg'

interface KeyView {
  kid: string
  alg: string
  status: KeyStatus
  createdAt: string
  rotatedAt: string | null
  retiredAt: string | null
}

function describeKeys(records: KeyRecord[], alg: string, verifyWindowMs: number, now: number): KeyView[] {
  let currentSeen = false
  return records.map((r) => {
    let status: KeyStatus
    if (r.retiredAt !== null) status = 'retired'
    else if (r.alg !== alg) status = 'other-alg'
    else if (r.rotatedAt === null && !currentSeen) status = 'current'
    else if ((r.rotatedAt ?? now) + verifyWindowMs >= now) status = 'verifying'
    else status = 'expired'
    if (status === 'current') currentSeen = true
    return {
      kid: r.kid,
      alg: r.alg,
      status,
      createdAt: formatTime(r.createdAt),
      rotatedAt: r.rotatedAt === null ? null : formatTime(r.rotatedAt),
      retiredAt: r.retiredAt === null ? null : formatTime(r.retiredAt),
    }
  })
}

/** Runs `tokenpair keys …`; returns the exit code. */
export async function runKeysCommand(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIO,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } })
  if (values.help) {
    io.out(KEYS_HELP)
    return EXIT_OK
  }
  const [action, ...rest] = positionals
  const json = values.json === true
  if (action !== 'list' && action !== 'rotate' && action !== 'retire') {
    throw new UsageError(
      action === undefined ? 'keys needs an action' : `unknown keys action ${JSON.stringify(action)}`,
    )
  }
  if (action === 'retire' ? rest.length !== 1 : rest.length !== 0) {
    throw new UsageError(
      action === 'retire' ? 'keys retire needs exactly one kid' : `keys ${action} takes no argument`,
    )
  }
  const context = await openCommandContext(env, io)
  try {
    const { config, storage } = context
    const alg = config.auth.algorithm ?? OPTION_DEFAULTS.algorithm
    if (action === 'list') {
      // The window matches the server's: its clock tolerance included.
      const verifyWindowMs =
        resolveDurationOption(config.auth, 'accessTokenTtl') +
        resolveDurationOption(config.auth, 'clockTolerance')
      const keys = describeKeys(await storage.listKeys(), alg, verifyWindowMs, Date.now())
      if (json) io.out(`${JSON.stringify(keys)}\n`)
      else if (keys.length === 0) io.out('no keys yet: the server makes the first one when it starts\n')
      else {
        io.out(
          formatTable(
            ['KID', 'ALG', 'STATUS', 'CREATED', 'ROTATED', 'RETIRED'],
            keys.map((k) => [k.kid, k.alg, k.status, k.createdAt, k.rotatedAt ?? '-', k.retiredAt ?? '-']),
          ),
        )
      }
      return EXIT_OK
    }
    if (action === 'rotate') {
      if (alg === 'HS256')
        throw new CommandError('JWT_ALG=HS256 has no key pair to rotate: change ACCESS_TOKEN_SECRET')
      const options = resolveOptions({
        ...config.auth,
        // The storage was opened with the prefix (openCommandContext); a Storage refuses another.
        tablePrefix: undefined,
        database: storage,
        secret: await readAuthSecret(context, io),
      })
      const ring = new KeyRing(options, storage)
      // Loading first proves this secret opens the current key: a key sealed with another secret
      // would stop every server from signing.
      await ring.load()
      const previous = ring.current.kid
      const record = await ring.createKeyRecord()
      await storage.insertKey(record)
      if (json) io.out(`${JSON.stringify({ kid: record.kid, alg: record.alg, previous })}\n`)
      else io.out(`rotated: ${record.kid} is now current (was ${previous})\n`)
      return EXIT_OK
    }
    const kid = rest[0]!
    const records = await storage.listKeys()
    const record = records.find((r) => r.kid === kid)
    if (!record) throw new CommandError(`no key ${JSON.stringify(kid)}`)
    if (record.retiredAt === null && record.rotatedAt === null && record.alg === alg) {
      throw new CommandError(`key ${kid} is current: run "tokenpair keys rotate" first`)
    }
    if (!(await storage.retireKey(kid, Date.now()))) throw new CommandError(`key ${kid} is already retired`)
    if (json) io.out(`${JSON.stringify({ kid, retired: true })}\n`)
    else io.out(`retired: ${kid}; running servers drop it within KEY_RELOAD_INTERVAL\n`)
    return EXIT_OK
  } finally {
    await context.close()
  }
}
