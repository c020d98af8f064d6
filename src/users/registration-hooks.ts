import { type AppClient, toAppUser } from '../config/app-options.js'
import { runBeforeHook } from '../engine/app-hooks.js'
import type { Engine } from '../engine/engine.js'
import { ConfigError } from '../errors.js'
import type { UserRecord } from '../storage/storage.js'
import { fullnameSchema } from './user-schemas.js'

/** The `fullname` a `beforeRegister` hook returned, under the rule of the field. */
export function readHookFullname(value: unknown): string {
  const parsed = fullnameSchema.safeParse(value)
  if (!parsed.success) {
    throw new ConfigError('hooks.beforeRegister', 'returned a fullname that is not 1 to 100 characters')
  }
  return parsed.data
}

/**
 * The app's say in a user that a first sign-in with an identity provider creates, as in a
 * registration: `beforeRegister` (told `source: 'provider'` and the provider's name; it sees the
 * username tried first, which gets a number appended when it is taken) may refuse or change the
 * fullname, then `beforeSessionCreate` (`reason: 'register'`) may refuse; both before anything is
 * written. Resolves to the fullname to store.
 */
export async function runProviderRegistrationHooks(
  engine: Engine,
  draft: Omit<UserRecord, 'passwordHash'>,
  provider: string,
  client: AppClient,
): Promise<string> {
  const { beforeRegister, beforeSessionCreate } = engine.options.hooks
  let { fullname } = draft
  if (beforeRegister) {
    const input = Object.freeze({ username: draft.username, email: draft.email, fullname })
    const context = { input, client, source: 'provider' as const, provider }
    const change = await runBeforeHook('hooks.beforeRegister', () => beforeRegister(context))
    if (change?.fullname !== undefined) fullname = readHookFullname(change.fullname)
  }
  if (beforeSessionCreate) {
    // A user without a password: the hash is the empty one no password verifies against.
    const user = toAppUser({ ...draft, fullname, passwordHash: '' })
    await runBeforeHook('hooks.beforeSessionCreate', () =>
      beforeSessionCreate({ user, client, reason: 'register' }),
    )
  }
  return fullname
}
