import type { Engine } from '../../engine/engine.js'
import type { PublicUser } from '../../protocol/wire-schemas.js'
import { queueEmailVerification, updateProfile } from '../../users/email-flows.js'
import type { UpdateProfileInput } from '../../users/user-schemas.js'
import { toPublicUser } from '../../users/user-view.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { readLinkBase } from './email.js'

/**
 * `PATCH /me` `{fullname?, email?}` (access token; cookie-borne requests pass the CSRF check of
 * `requireAuth`): answers the updated user. A new address is unverified and gets a verification
 * mail; a taken one answers `409 email_taken`. The access token keeps its old claims until the
 * next refresh.
 */
export function updateProfileHandler(
  engine: Engine,
  answer: RouteAnswer<PublicUser>,
): RouteHandler<UpdateProfileInput> {
  return async function updateProfileRoute(req, res, input) {
    const { user, emailChanged } = await updateProfile(engine, req.auth!.userId, input)
    answer.send(res, toPublicUser(user), 'Profile updated')
    if (emailChanged) queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}
