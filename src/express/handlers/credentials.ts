import type { RequestHandler } from 'express'
import { AuthError } from '../../errors.js'
import type { Engine } from '../../internal/engine.js'
import { validate } from '../../internal/validate.js'
import { openSession } from '../../sessions/sessions.js'
import { authenticateUser, registerUser } from '../../users/accounts.js'
import { queueEmailVerification } from '../../users/email-flows.js'
import { loginSchema, registerSchema } from '../../users/user-schemas.js'
import { readClientInfo } from '../client-info.js'
import { readAuthMode, sendTokenPair } from '../token-response.js'
import { readLinkBase } from './email.js'

/** `POST /register`: creates the user and logs them in. */
export function registerHandler(engine: Engine): RequestHandler {
  return async function register(req, res) {
    readAuthMode(req)
    const input = validate(registerSchema, req.body)
    // Counted before the costly password hash, per client IP (docs/security.md).
    await engine.limits.consumeRegistration(req.ip)
    const user = await registerUser(engine, input)
    const client = readClientInfo(req)
    const pair = await openSession(engine, user, client)
    const ip = client.ip ?? undefined
    engine.events.emit({ type: 'user_registered', userId: user.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    sendTokenPair(engine, req, res, pair, 201, 'Registered')
    queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}

/** `POST /login` by username or email. */
export function loginHandler(engine: Engine): RequestHandler {
  return async function login(req, res) {
    readAuthMode(req)
    const input = validate(loginSchema, req.body)
    const client = readClientInfo(req)
    const ip = client.ip ?? undefined
    // Counted before the password is checked: while limited, even the right password is refused.
    const attempt = await engine.limits.beginLoginAttempt(input.login, req.ip)
    let user: Awaited<ReturnType<typeof authenticateUser>>
    try {
      user = await authenticateUser(engine, input)
    } catch (error) {
      // Only a wrong guess counts; a database failure gives its points back.
      if (error instanceof AuthError && error.code === 'invalid_credentials') {
        engine.events.emit({ type: 'login_failed', ip })
      } else {
        await attempt.cancel()
      }
      throw error
    }
    await attempt.succeed()
    const pair = await openSession(engine, user, client)
    engine.events.emit({ type: 'login_succeeded', userId: user.id, sessionId: pair.session.id, ip })
    engine.events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
    sendTokenPair(engine, req, res, pair, 200, 'Logged in')
  }
}
