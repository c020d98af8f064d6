import type { AuthLogger } from '../common/logger.js'
import type { AppUser } from '../config/app-options.js'
import { resolveMetadata } from '../config/metadata-options.js'
import { AuthError, ValidationError } from '../errors.js'
import { EventBus } from '../events/events.js'
import { createUsersAPI, MAX_USER_PAGE, ROLE_PATTERN, type UsersAPI } from '../users/user-admin.js'
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
  mfa-reset <user>        for a user locked out of their second factor: remove TOTP and the
                          recovery codes (passkeys stay), and sign the user out everywhere

Options:
  --json      print JSON for scripts
  -h, --help  show this help
`

/** Security events (`mfa_reset`, `session_revoked`, …) as lines on standard error: the operator's record. */
function eventLogger(io: Pick<CommandIO, 'err'>): AuthLogger {
  const write = (obj: object) => {
    const { event, userId, reason, count } = obj as Record<string, unknown>
    if (typeof event !== 'string') return
    const details = [
      `user ${String(userId)}`,
      reason && `reason ${String(reason)}`,
      count !== undefined && `${count} session(s)`,
    ]
    io.err(`tokenpair: event ${event} (${details.filter(Boolean).join(', ')})\n`)
  }
  return { info: write, warn: write, error: () => {} }
}

function readCount(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const text = String(value)
  if (!/^\d{1,9}$/.test(text) || Number(text) > max)
    throw new UsageError(`--${name} must be a number from 0 to ${max}`)
  return Number(text)
}

async function findUser(users: UsersAPI, ref: string): Promise<AppUser> {
  const user = await users.find(ref)
  if (!user) throw new CommandError(`no such user: ${JSON.stringify(ref)}`)
  return user
}

/** A refusal of the users API as the operator reads it: `invalid user: <field problems>`. */
function describeRefusal(error: unknown): never {
  if (error instanceof ValidationError) {
    throw new CommandError(`invalid user: ${error.errors.map((problem) => problem.message).join('; ')}`)
  }
  throw error
}

function viewOf(user: AppUser) {
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
  const actions = ['create', 'list', 'disable', 'enable', 'revoke-sessions', 'mfa-reset']
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
    const badRole = roles.find((r) => !ROLE_PATTERN.test(r))
    if (badRole !== undefined)
      throw new UsageError(`--role ${JSON.stringify(badRole)}: use a-z, 0-9, _ and -`)
    // One trailing newline (from echo or a heredoc) is not part of the password.
    const password = (await io.readStdin()).replace(/\r?\n$/, '')
    const input = {
      username: String(values.username),
      email: String(values.email),
      fullname: String(values.fullname),
      password,
      roles,
    }
    return withUsers(env, io, async (users) => {
      const user = await users.create(input).catch(describeRefusal)
      io.out(json ? `${JSON.stringify(viewOf(user))}\n` : `created user ${user.username} (${user.id})\n`)
      return EXIT_OK
    })
  }

  return withUsers(env, io, async (users) => {
    if (action === 'list') {
      const limit = readCount('limit', values.limit, 100, MAX_USER_PAGE)
      const offset = readCount('offset', values.offset, 0, 1_000_000_000)
      const list = (await users.list({ limit, offset })).map(viewOf)
      if (json) io.out(`${JSON.stringify(list)}\n`)
      else {
        io.out(
          formatTable(
            ['ID', 'USERNAME', 'EMAIL', 'ROLES', 'DISABLED', 'CREATED'],
            list.map((u) => [u.id, u.username, u.email, u.roles.join(','), u.disabledAt ?? '-', u.createdAt]),
          ),
        )
      }
      return EXIT_OK
    }
    const user = await findUser(users, rest[0]!)
    if (action === 'enable') {
      await users.enable(user.id)
      io.out(json ? `${JSON.stringify({ id: user.id, disabled: false })}\n` : `enabled ${user.username}\n`)
      return EXIT_OK
    }
    if (action === 'disable') {
      const { revokedSessions } = await users.disable(user.id)
      io.out(
        json
          ? `${JSON.stringify({ id: user.id, disabled: true, revokedSessions })}\n`
          : `disabled ${user.username}; revoked ${revokedSessions} session(s)\n`,
      )
      return EXIT_OK
    }
    if (action === 'mfa-reset') {
      const { totp, revokedSessions } = await users.resetMfa(user.id)
      io.out(
        json
          ? `${JSON.stringify({ id: user.id, totpRemoved: totp, revokedSessions })}\n`
          : `${totp ? 'removed TOTP and recovery codes of' : 'no TOTP to remove for'} ${user.username}; revoked ${revokedSessions} session(s)\n`,
      )
      return EXIT_OK
    }
    const revoked = await users.revokeSessions(user.id)
    io.out(
      json
        ? `${JSON.stringify({ id: user.id, revokedSessions: revoked })}\n`
        : `revoked ${revoked} session(s) of ${user.username}\n`,
    )
    return EXIT_OK
  })
}

/**
 * Runs `work` with the users API on the environment's storage, the same operations as
 * `auth.users`; its events are written to standard error. The CLI has no app, so no
 * `validatePassword`: tokenpair's own password rules apply.
 */
async function withUsers(
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIO,
  work: (users: UsersAPI) => Promise<number>,
): Promise<number> {
  const context = await openCommandContext(env, io)
  try {
    const events = new EventBus(eventLogger(io))
    return await work(
      createUsersAPI({
        storage: context.storage,
        events,
        options: { validatePassword: null, metadata: resolveMetadata(undefined) },
      }),
    )
  } catch (error) {
    // A user gone between the lookup and the change.
    if (error instanceof AuthError && error.code === 'not_found') throw new CommandError(error.message)
    throw error
  } finally {
    await context.close()
  }
}
