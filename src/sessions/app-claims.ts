import { type ClaimsContext, toAppSession, toAppUser } from '../config/app-options.js'
import type { Engine } from '../engine/engine.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import { checkCustomClaims } from '../tokens/custom-claims.js'

/**
 * The app's own claims for a token of `user` in `session`, or `undefined` without a `claims`
 * option. Called at every login, registration and refresh, so that the claims follow the user's
 * data, and before anything is written: a function that throws or returns a bad result
 * (a reserved name, not JSON, too large: a `ConfigError` naming `claims`) leaves no session
 * behind and consumes no refresh token.
 */
export async function readAppClaims(
  engine: Engine,
  user: UserRecord,
  session: SessionRecord,
  reason: ClaimsContext['reason'],
): Promise<Record<string, unknown> | undefined> {
  const claims = engine.options.claims
  if (claims === null) return undefined
  return checkCustomClaims(await claims({ user: toAppUser(user), session: toAppSession(session), reason }))
}
