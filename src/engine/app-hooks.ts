import { describeErrorForLog } from '../common/logger.js'
import { type AppClient, HOOK_REFUSAL_CODES, toAppSession, toAppUser } from '../config/app-options.js'
import { AuthError, ConfigError } from '../errors.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import type { Engine } from './engine.js'

const REFUSALS: ReadonlySet<string> = new Set(HOOK_REFUSAL_CODES)

/**
 * Runs a `before*` hook of the app (or `validatePassword`), named by its `setting`
 * (`hooks.beforeRegister`). A refusal (an `AuthError` with a code of
 * `HOOK_REFUSAL_CODES`) passes through to the client as it is; an `AuthError` with another code
 * becomes a `ConfigError` naming the hook (a code such as `invalid_token` would mislead the
 * client, and is the app's mistake); any other error is the app's bug and goes on as it is. Either
 * of the last two answers `500 internal_error` and is logged.
 */
export async function runBeforeHook<T>(setting: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof AuthError && !REFUSALS.has(error.code)) {
      throw new ConfigError(
        setting,
        `refused with code ${error.code}; a hook refuses with one of ${HOOK_REFUSAL_CODES.join(', ')}`,
      )
    }
    throw error
  }
}

/**
 * Runs an `after*` hook of the app: awaited, so that the app's own writes are done when the client
 * gets its answer, but what it throws is only logged: the registration or login it follows has
 * happened and stands.
 */
export async function runAfterHook(engine: Engine, name: string, run: () => unknown): Promise<void> {
  try {
    await run()
  } catch (error) {
    engine.options.logger.error(
      { err: describeErrorForLog(error), hook: name },
      `hooks.${name} failed; what it follows stands`,
    )
  }
}

/** Runs `afterRegister` or `afterLogin`, if the app set it, for the session just opened. */
export async function runAfterSessionHook(
  engine: Engine,
  name: 'afterRegister' | 'afterLogin',
  opened: { user: UserRecord; session: SessionRecord },
  client: AppClient,
): Promise<void> {
  const hook = engine.options.hooks[name]
  if (!hook) return
  const context = { user: toAppUser(opened.user), session: toAppSession(opened.session), client }
  await runAfterHook(engine, name, () => hook(context))
}
