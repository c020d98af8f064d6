import { runAfterSessionHook } from '../../engine/app-hooks.js'
import type { Engine } from '../../engine/engine.js'
import type { TokenResponseData } from '../../protocol/wire-schemas.js'
import { openSession, prepareSession } from '../../sessions/sessions.js'
import { authenticateUser, registerUser } from '../../users/accounts.js'
import { queueEmailVerification } from '../../users/email-flows.js'
import { needsSecondFactor, requireSecondFactor } from '../../users/mfa-login.js'
import type { LoginInput, RegisterInput } from '../../users/user-schemas.js'
import { readClientInfo } from '../client-info.js'
import { dpopCheckOf, readLoginBinding } from '../dpop.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { sendTokenPair } from '../token-response.js'
import { readLinkBase } from './email.js'

/** `POST /register`: creates the user and logs them in. */
export function registerHandler(
  engine: Engine,
  answer: RouteAnswer<TokenResponseData>,
): RouteHandler<RegisterInput> {
  const dpop = dpopCheckOf(engine)
  return async function register(req, res, input) {
    // The proof is checked first: a broken one creates no user.
    const client = { ...readClientInfo(req), ...(await readLoginBinding(req, res, dpop)) }
    // The session's tokens (and the app's claims) are made before the user is written: a
    // `claims` function that fails leaves no user behind without a session.
    const prepared = await registerUser(engine, input, client, (user) =>
      prepareSession(engine, user, client, 'register'),
    )
    const pair = await prepared.store()
    const { user } = pair
    const ip = client.ip ?? undefined
    engine.events.emit({ type: 'user_registered', userId: user.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    await runAfterSessionHook(engine, 'afterRegister', pair, client)
    sendTokenPair(engine, req, res, pair, answer, 'Registered')
    queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}

/** `POST /login` by username or email. */
export function loginHandler(
  engine: Engine,
  answer: RouteAnswer<TokenResponseData>,
): RouteHandler<LoginInput> {
  const dpop = dpopCheckOf(engine)
  return async function login(req, res, input) {
    const client = { ...readClientInfo(req), ...(await readLoginBinding(req, res, dpop)) }
    const ip = client.ip ?? undefined
    const user = await authenticateUser(engine, input, client)
    // The password was right; a second factor must follow, and no session opens until it does.
    if (needsSecondFactor(user)) await requireSecondFactor(engine, user, 'pwd')
    const pair = await openSession(engine, user, client, 'login', { amr: ['pwd'] })
    engine.events.emit({ type: 'login_succeeded', userId: user.id, sessionId: pair.session.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    await runAfterSessionHook(engine, 'afterLogin', pair, client)
    sendTokenPair(engine, req, res, pair, answer, 'Logged in')
  }
}
