import type { Request } from 'express'
import type { Engine } from '../../engine/engine.js'
import { AuthError } from '../../errors.js'
import { isLoopbackHost } from '../../internal/loopback.js'
import type { PublicUser } from '../../protocol/wire-schemas.js'
import {
  queueEmailVerification,
  requestPasswordReset,
  resetPassword,
  verifyEmail,
} from '../../users/email-flows.js'
import type {
  PasswordResetInput,
  PasswordResetRequestInput,
  VerifyEmailInput,
} from '../../users/user-schemas.js'
import { toPublicUser } from '../../users/user-view.js'
import { readClientInfo } from '../client-info.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'

/**
 * Where mail links point: `appUrl` when set. Otherwise the request's own origin, but only when its
 * host is loopback or its origin is one of `allowedOrigins`: the `Host` header is the client's to
 * choose, and a reset link built from a forged one (`Host: evil.example`) would carry the victim's
 * token to the forger's site. `null` when no trusted origin is known: the mail is then not sent.
 */
export function readLinkBase(engine: Engine, req: Request): string | null {
  if (engine.options.appUrl !== null) return engine.options.appUrl
  const host = req.host
  if (!host) return null
  // Parse the claimed origin and use only what the URL parser saw: `Host: localhost:@evil.example`
  // has the hostname "localhost" to a naive reader, and the host "evil.example" to a mail client.
  let url: URL
  try {
    url = new URL(`${req.protocol}://${host}`)
  } catch {
    return null
  }
  if (url.username !== '' || url.password !== '' || url.host !== host.toLowerCase() || url.pathname !== '/') {
    return null
  }
  if (isLoopbackHost(url.hostname) || engine.options.allowedOrigins.includes(url.origin)) return url.origin
  return null
}

/** `POST /email/verify/request` (access token): mails a new verification link, superseding the last. */
export function emailVerifyRequestHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<undefined> {
  return async function emailVerifyRequest(req, res) {
    const user = await engine.storage.findUserById(req.auth!.userId)
    if (!user || user.disabledAt !== null) throw new AuthError('invalid_token', 'User no longer exists')
    if (user.emailVerified) {
      answer.send(res, null, 'Email address is already verified')
      return
    }
    answer.send(res, null, 'Verification mail sent')
    queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}

/** `POST /email/verify` `{token}`: marks the address verified; `400 invalid_email_token` otherwise. */
export function emailVerifyHandler(
  engine: Engine,
  answer: RouteAnswer<PublicUser>,
): RouteHandler<VerifyEmailInput> {
  return async function emailVerify(_req, res, input) {
    const user = await verifyEmail(engine, input.token)
    answer.send(res, toPublicUser(user), 'Email address verified')
  }
}

/**
 * `POST /password/reset/request` `{email}`: always `200` with the same body. The limits are
 * counted and the answer sent before the address is looked up; the lookup, the token and the mail
 * happen afterwards, so neither the answer nor its timing says whether the address exists.
 */
export function passwordResetRequestHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<PasswordResetRequestInput> {
  return async function passwordResetRequest(req, res, input) {
    await requestPasswordReset(engine, input.email, readClientInfo(req), readLinkBase(engine, req))
    answer.send(res, null, 'If this address belongs to an account, a reset link is on its way')
  }
}

/**
 * `POST /password/reset` `{token, newPassword}`: sets the password, marks the address verified,
 * revokes every session; `400 invalid_reset_token` for a used, expired or unknown token.
 */
export function passwordResetHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<PasswordResetInput> {
  return async function passwordReset(_req, res, input) {
    const { userId, revoked } = await resetPassword(engine, input)
    engine.events.emit({ type: 'password_changed', userId, reason: 'password_reset' })
    engine.events.emit({ type: 'session_revoked', userId, reason: 'password_reset', count: revoked })
    answer.send(res, null, 'Password reset; every session was signed out')
  }
}
