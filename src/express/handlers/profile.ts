import type { RequestHandler } from 'express'
import type { Engine } from '../../engine/engine.js'
import { validate } from '../../internal/validate.js'
import { queueEmailVerification, updateProfile } from '../../users/email-flows.js'
import { updateProfileSchema } from '../../users/user-schemas.js'
import { toPublicUser } from '../../users/user-view.js'
import { sendSuccess } from '../envelope.js'
import { readLinkBase } from './email.js'

/**
 * `PATCH /me` `{fullname?, email?}` (access token; cookie-borne requests pass the CSRF check of
 * `requireAuth`): answers the updated user. A new address is unverified and gets a verification
 * mail; a taken one answers `409 email_taken`. The access token keeps its old claims until the
 * next refresh.
 */
export function updateProfileHandler(engine: Engine): RequestHandler {
  return async function updateProfileRoute(req, res) {
    const input = validate(updateProfileSchema, req.body)
    const { user, emailChanged } = await updateProfile(engine, req.auth!.userId, input)
    sendSuccess(res, 200, toPublicUser(user), 'Profile updated')
    if (emailChanged) queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}
