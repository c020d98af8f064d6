import type { RequestHandler } from 'express'
import type { Engine } from '../../internal/engine.js'
import { validate } from '../../internal/validate.js'
import { openSession } from '../../sessions/sessions.js'
import { authenticateUser, registerUser } from '../../users/accounts.js'
import { loginSchema, registerSchema } from '../../users/user-schemas.js'
import { readClientInfo } from '../client-info.js'
import { readAuthMode, sendTokenPair } from '../token-response.js'

/** `POST /register`: creates the user and logs them in. */
export function registerHandler(engine: Engine): RequestHandler {
  return async function register(req, res) {
    readAuthMode(req)
    const input = validate(registerSchema, req.body)
    const user = await registerUser(engine, input)
    const pair = await openSession(engine, user, readClientInfo(req))
    sendTokenPair(engine, req, res, pair, 201, 'Registered')
  }
}

/** `POST /login` by username or email. */
export function loginHandler(engine: Engine): RequestHandler {
  return async function login(req, res) {
    readAuthMode(req)
    const input = validate(loginSchema, req.body)
    const user = await authenticateUser(engine, input)
    const pair = await openSession(engine, user, readClientInfo(req))
    sendTokenPair(engine, req, res, pair, 200, 'Logged in')
  }
}
