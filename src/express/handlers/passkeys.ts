import { runAfterSessionHook } from '../../engine/app-hooks.js'
import type { Engine } from '../../engine/engine.js'
import { AuthError } from '../../errors.js'
import type { PasskeyEntry, PasskeyLoginOptionsData, TokenResponseData } from '../../protocol/wire-schemas.js'
import { openSession } from '../../sessions/sessions.js'
import type { PasskeyRecord } from '../../storage/storage.js'
import type {
  PasskeyLoginInput,
  PasskeyRegisterInput,
  PasskeyRenameInput,
  ReauthenticationInput,
} from '../../users/factor-schemas.js'
import { needsSecondFactor, requireSecondFactor } from '../../users/mfa-login.js'
import {
  deletePasskey,
  loginWithPasskey,
  passkeyLoginOptions,
  passkeyRegistrationOptions,
  registerPasskey,
  renamePasskey,
} from '../../users/passkeys.js'
import { readClientInfo } from '../client-info.js'
import { dpopCheckOf, readLoginBinding } from '../dpop.js'
import { readRelyingParty } from '../relying-party.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { sendTokenPair } from '../token-response.js'
import { readActor } from './mfa.js'

/** A passkey as the user sees it: no key material. */
export function toPasskeyEntry(passkey: PasskeyRecord): PasskeyEntry {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: new Date(passkey.createdAt).toISOString(),
    lastUsedAt: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt).toISOString(),
  }
}

/** The `:id` of a passkey route. */
function passkeyId(id: unknown): string {
  if (typeof id !== 'string' || id === '' || id.length > 64)
    throw new AuthError('not_found', 'No such passkey')
  return id
}

/** `POST /passkeys/register/options` (re-authentication). */
export function passkeyRegisterOptionsHandler(
  engine: Engine,
  answer: RouteAnswer<Record<string, unknown>>,
): RouteHandler<ReauthenticationInput> {
  return async function passkeyRegisterOptions(req, res, input) {
    const options = await passkeyRegistrationOptions(
      engine,
      readActor(req),
      input,
      readRelyingParty(engine, req),
    )
    res.setHeader('Cache-Control', 'no-store')
    answer.send(
      res,
      options as unknown as Record<string, unknown>,
      'Create the passkey, then send its response',
    )
  }
}

/** `POST /passkeys/register`. */
export function passkeyRegisterHandler(
  engine: Engine,
  answer: RouteAnswer<PasskeyEntry>,
): RouteHandler<PasskeyRegisterInput> {
  return async function passkeyRegister(req, res, input) {
    const passkey = await registerPasskey(engine, readActor(req), input, readRelyingParty(engine, req))
    answer.send(res, toPasskeyEntry(passkey), 'Passkey registered')
  }
}

/** `GET /passkeys`: the user's passkeys, oldest first. */
export function passkeyListHandler(
  engine: Engine,
  answer: RouteAnswer<PasskeyEntry[]>,
): RouteHandler<undefined> {
  return async function passkeyList(req, res) {
    const passkeys = await engine.storage.factors.listPasskeys(req.auth!.userId)
    answer.send(res, passkeys.map(toPasskeyEntry), 'Passkeys')
  }
}

/** `PATCH /passkeys/:id`: a new name. */
export function passkeyRenameHandler(
  engine: Engine,
  answer: RouteAnswer<PasskeyEntry>,
): RouteHandler<PasskeyRenameInput> {
  return async function passkeyRename(req, res, input) {
    const passkey = await renamePasskey(engine, req.auth!.userId, passkeyId(req.params.id), input.name)
    answer.send(res, toPasskeyEntry(passkey), 'Passkey renamed')
  }
}

/** `DELETE /passkeys/:id` (re-authentication). */
export function passkeyDeleteHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<ReauthenticationInput> {
  return async function passkeyDelete(req, res, input) {
    await deletePasskey(engine, readActor(req), passkeyId(req.params.id), input)
    answer.send(res, null, 'Passkey removed')
  }
}

/**
 * `POST /passkeys/login/options`: a challenge for a usernameless login. Anyone may ask, and each
 * answer stores a challenge: counted per IP (`429 rate_limited` past the limit) before it is made.
 */
export function passkeyLoginOptionsHandler(
  engine: Engine,
  answer: RouteAnswer<PasskeyLoginOptionsData>,
): RouteHandler<undefined> {
  return async function passkeyLoginOptionsRoute(req, res) {
    await engine.limits.consumePasskeyChallenge(readClientInfo(req).ip)
    const data = await passkeyLoginOptions(engine, readRelyingParty(engine, req))
    res.setHeader('Cache-Control', 'no-store')
    answer.send(res, data as unknown as PasskeyLoginOptionsData, 'Sign the challenge with a passkey')
  }
}

/**
 * `POST /passkeys/login`: a whole login when the passkey verified the user; one that did not is a
 * first factor, and a user with TOTP then gets `mfa_required` like after a password.
 */
export function passkeyLoginHandler(
  engine: Engine,
  answer: RouteAnswer<TokenResponseData>,
): RouteHandler<PasskeyLoginInput> {
  return async function passkeyLogin(req, res, input) {
    const client = readClientInfo(req)
    // The DPoP proof is checked before the second factor is spent (a bad proof must not burn it).
    const bound = { ...client, ...(await readLoginBinding(req, res, dpopCheckOf(engine))) }
    const ip = client.ip ?? undefined
    let login: Awaited<ReturnType<typeof loginWithPasskey>>
    try {
      login = await loginWithPasskey(engine, input, readRelyingParty(engine, req))
    } catch (error) {
      if (error instanceof AuthError && error.code === 'invalid_credentials') {
        engine.events.emit({ type: 'login_failed', ip, reason: 'passkey' })
      }
      throw error
    }
    const { user, amr, userVerified } = login
    // The challenge served a login: it no longer counts against the client's challenges.
    await engine.limits.refundPasskeyChallenge(client.ip)
    if (!userVerified && needsSecondFactor(user)) await requireSecondFactor(engine, user, 'hwk')
    const pair = await openSession(engine, user, bound, 'login', { amr })
    engine.events.emit({ type: 'login_succeeded', userId: user.id, sessionId: pair.session.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    await runAfterSessionHook(engine, 'afterLogin', pair, bound)
    sendTokenPair(engine, req, res, pair, answer, 'Logged in')
  }
}
