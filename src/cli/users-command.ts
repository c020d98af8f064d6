import { randomUUID } from 'node:crypto'
import { describeIssues } from '../internal/validate.js'
import type { Storage, UserRecord } from '../storage/storage.js'
import { hashPassword } from '../users/passwords.js'
import { registerSchema } from '../users/user-schemas.js'
import { toPublicUser } from '../users/user-view.js'
import { type CommandIO, openCommandContext, parseCommandArgs } from './cli-support.js'
import { CommandError, EXIT_OK, UsageError } from './command-errors.js'
import { formatTable, formatTime } from './format.js'

/** Help of `tokenpair users`. */
export const USERS_HELP = `Usage: tokenpair users <action> [options]

Administer users in the database (DATABASE_URL). <user> is an id, a username or an email.

  create --username U --email E --fullname F --password-stdin [--role R]...
                          create a user; the password is read from standard input
                          (never from the command line, where ps would show it).
                          Every user has the role "user"; --role adds more (e.g. admin)
  list [--limit N] [--offset N]
                          users, oldest first (default limit 100)
  disable <user>          refuse the user's logins and refreshes, and revoke every session
  enable <user>           lift a disable
  revoke-sessions <user>  sign the user out of every device

Options:
  --json      print JSON for scripts
  -h, --help  show this help
`

const ROLE = /^[a-z][a-z0-9_-]{0,31}$/
const MAX_LIST = 1000

function readCount(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const text = String(value)
  if (!/^\d{1,9}$/.test(text) || Number(text) > max)
    throw new UsageError(`--${name} must be a number from 0 to ${max}`)
  return Number(text)
}

async function findUser(storage: Storage, ref: string): Promise<UserRecord> {
  const user = (await storage.findUserById(ref)) ?? (await storage.findUserByLogin(ref.trim().toLowerCase()))
  if (!user) throw new CommandError(`no such user: ${JSON.stringify(ref)}`)
  return user
}

function viewOf(user: UserRecord) {
  return { ...toPublicUser(user), disabledAt: user.disabledAt === null ? null : formatTime(user.disabledAt) }
}

/** Runs `tokenpair users …`; returns the exit code. */
export async function runUsersCommand(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIO,
): Promise<number> {
  if (args.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    // A password on the command line lands in the shell's history and in the process list.
    throw new UsageError(
      'users create takes the password on standard input: use --password-stdin, not --password',
    )
  }
  const { values, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean' },
    username: { type: 'string' },
    email: { type: 'string' },
    fullname: { type: 'string' },
    role: { type: 'string', multiple: true },
    'password-stdin': { type: 'boolean' },
    limit: { type: 'string' },
    offset: { type: 'string' },
  })
  if (values.help) {
    io.out(USERS_HELP)
    return EXIT_OK
  }
  const [action, ...rest] = positionals
  const json = values.json === true
  const actions = ['create', 'list', 'disable', 'enable', 'revoke-sessions']
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      action === undefined ? 'users needs an action' : `unknown users action ${JSON.stringify(action)}`,
    )
  }
  const needsUser = action !== 'create' && action !== 'list'
  if (needsUser ? rest.length !== 1 : rest.length !== 0) {
    throw new UsageError(
      needsUser ? `users ${action} needs exactly one <user>` : `users ${action} takes no argument`,
    )
  }

  if (action === 'create') {
    for (const name of ['username', 'email', 'fullname'] as const) {
      if (typeof values[name] !== 'string') throw new UsageError(`users create needs --${name}`)
    }
    if (values['password-stdin'] !== true) throw new UsageError('users create needs --password-stdin')
    const roles = ['user', ...((values.role as string[] | undefined) ?? [])]
    const badRole = roles.find((r) => !ROLE.test(r))
    if (badRole !== undefined)
      throw new UsageError(`--role ${JSON.stringify(badRole)}: use a-z, 0-9, _ and -`)
    // One trailing newline (from echo or a heredoc) is not part of the password.
    const password = (await io.readStdin()).replace(/\r?\n$/, '')
    const input = { username: values.username, email: values.email, fullname: values.fullname, password }
    const parsed = registerSchema.safeParse(input)
    if (!parsed.success) {
      const problems = describeIssues(parsed.error, input).map((problem) => problem.message)
      throw new CommandError(`invalid user: ${problems.join('; ')}`)
    }
    const context = await openCommandContext(env, io)
    try {
      const now = Date.now()
      const user: UserRecord = {
        id: randomUUID(),
        username: parsed.data.username,
        email: parsed.data.email,
        fullname: parsed.data.fullname,
        passwordHash: await hashPassword(parsed.data.password),
        roles: [...new Set(roles)],
        emailVerified: false,
        disabledAt: null,
        createdAt: now,
        updatedAt: now,
        mfa: { totp: false, passkeys: 0 },
      }
      await context.storage.createUser(user)
      io.out(json ? `${JSON.stringify(viewOf(user))}\n` : `created user ${user.username} (${user.id})\n`)
      return EXIT_OK
    } finally {
      await context.close()
    }
  }

  const context = await openCommandContext(env, io)
  try {
    const { storage } = context
    const now = Date.now()
    if (action === 'list') {
      const limit = readCount('limit', values.limit, 100, MAX_LIST)
      const offset = readCount('offset', values.offset, 0, 1_000_000_000)
      const users = (await storage.listUsers({ limit, offset })).map(viewOf)
      if (json) io.out(`${JSON.stringify(users)}\n`)
      else {
        io.out(
          formatTable(
            ['ID', 'USERNAME', 'EMAIL', 'ROLES', 'DISABLED', 'CREATED'],
            users.map((u) => [
              u.id,
              u.username,
              u.email,
              u.roles.join(','),
              u.disabledAt ?? '-',
              u.createdAt,
            ]),
          ),
        )
      }
      return EXIT_OK
    }
    const user = await findUser(storage, rest[0]!)
    if (action === 'enable') {
      await storage.setUserDisabled(user.id, null, now)
      io.out(json ? `${JSON.stringify({ id: user.id, disabled: false })}\n` : `enabled ${user.username}\n`)
      return EXIT_OK
    }
    if (action === 'disable') {
      await storage.setUserDisabled(user.id, now, now)
      // Disabling stops refreshes and logins; revoking also ends the sessions themselves.
      const revoked = await storage.revokeUserSessions(user.id, 'user_disabled', now)
      io.out(
        json
          ? `${JSON.stringify({ id: user.id, disabled: true, revokedSessions: revoked })}\n`
          : `disabled ${user.username}; revoked ${revoked} session(s)\n`,
      )
      return EXIT_OK
    }
    const revoked = await storage.revokeUserSessions(user.id, 'admin', now)
    io.out(
      json
        ? `${JSON.stringify({ id: user.id, revokedSessions: revoked })}\n`
        : `revoked ${revoked} session(s) of ${user.username}\n`,
    )
    return EXIT_OK
  } finally {
    await context.close()
  }
}
