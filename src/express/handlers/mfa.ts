import type { Request } from 'express'
import { runAfterSessionHook } from '../../engine/app-hooks.js'
import type { Engine } from '../../engine/engine.js'
import type { RecoveryCodesData, TOTPSetupData, TokenResponseData } from '../../protocol/wire-schemas.js'
import { openSession } from '../../sessions/sessions.js'
import type {
  MFAVerifyInput,
  ReauthenticationInput,
  TOTPConfirmInput,
  TOTPDisableInput,
} from '../../users/factor-schemas.js'
import { verifyMFALogin } from '../../users/mfa-login.js'
import {
  confirmTOTP,
  disableTOTP,
  type FactorActor,
  regenerateRecoveryCodes,
  setUpTOTP,
} from '../../users/totp.js'
import { readClientInfo } from '../client-info.js'
import { dpopCheckOf, readLoginBinding } from '../dpop.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { sendTokenPair } from '../token-response.js'

/** The user, session and client of an access-token route. */
export function readActor(req: Request): FactorActor {
  return { userId: req.auth!.userId, sessionId: req.auth!.sessionId, client: readClientInfo(req) }
}

/**
 * A handler of an access-token route that runs `work` for the request's user and session and
 * answers its result. Answers of these routes hold secrets or codes shown once: never cached.
 */
function actorRoute<Input, Data>(
  work: (engine: Engine, actor: FactorActor, input: Input) => Promise<Data>,
  message: string,
): (engine: Engine, answer: RouteAnswer<Data>) => RouteHandler<Input> {
  return (engine, answer) =>
    async function factorRoute(req, res, input) {
      const data = await work(engine, readActor(req), input)
      res.setHeader('Cache-Control', 'no-store')
      answer.send(res, data, message)
    }
}

/** `POST /mfa/totp/setup`: a pending secret and its QR code. */
export const totpSetupHandler = actorRoute<ReauthenticationInput, TOTPSetupData>(
  setUpTOTP,
  'Scan the code, then confirm with a code from the app',
)

/** `POST /mfa/totp/confirm`: TOTP on, and the recovery codes shown this once. */
export const totpConfirmHandler = actorRoute<TOTPConfirmInput, RecoveryCodesData>(
  confirmTOTP,
  'TOTP is on; keep the recovery codes somewhere safe',
)

/** `POST /mfa/totp/disable`. */
export const totpDisableHandler = actorRoute<TOTPDisableInput, null>(async (engine, actor, input) => {
  await disableTOTP(engine, actor, input)
  return null
}, 'TOTP is off')

/** `POST /mfa/recovery-codes`: a new set; the old codes stop working. */
export const recoveryCodesHandler = actorRoute<ReauthenticationInput, RecoveryCodesData>(
  regenerateRecoveryCodes,
  'New recovery codes; the old ones no longer work',
)

/** `POST /mfa/verify`: the second step of a login, which opens the session. */
export function mfaVerifyHandler(
  engine: Engine,
  answer: RouteAnswer<TokenResponseData>,
): RouteHandler<MFAVerifyInput> {
  return async function mfaVerify(req, res, input) {
    const client = readClientInfo(req)
    // The DPoP proof is checked before the second factor is spent (a bad proof must not burn it).
    const bound = { ...client, ...(await readLoginBinding(req, res, dpopCheckOf(engine))) }
    const { user, amr, jkt } = await verifyMFALogin(engine, input, bound)
    const pair = await openSession(engine, user, { ...bound, jkt }, 'login', { amr })
    const ip = client.ip ?? undefined
    engine.events.emit({ type: 'login_succeeded', userId: user.id, sessionId: pair.session.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    await runAfterSessionHook(engine, 'afterLogin', pair, bound)
    sendTokenPair(engine, req, res, pair, answer, 'Logged in')
  }
}
