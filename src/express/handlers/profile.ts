import type { Engine } from '../../engine/engine.js'
import type { PublicUser } from '../../protocol/wire-schemas.js'
import { queueEmailVerification } from '../../users/email-flows.js'
import { updateProfile } from '../../users/profile.js'
import type { UpdateProfileInput } from '../../users/user-schemas.js'
import { toPublicUser } from '../../users/user-view.js'
import { readClientInfo } from '../client-info.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { readLinkBase } from './email.js'

/**
 * `PATCH /me` `{fullname?, email?, currentPassword?}` (access token; cookie-borne requests pass
 * the CSRF check of `requireAuth`): answers the updated user. A new address needs
 * `currentPassword`, is unverified and gets a verification mail; a taken one answers `409
 * email_taken`. The access token keeps its old claims until the
 * next refresh.
 */
export function updateProfileHandler(
  engine: Engine,
  answer: RouteAnswer<PublicUser>,
): RouteHandler<UpdateProfileInput> {
  return async function updateProfileRoute(req, res, input) {
    const { user, emailChanged } = await updateProfile(
      engine,
      { userId: req.auth!.userId, sessionId: req.auth!.sessionId, client: readClientInfo(req) },
      input,
    )
    answer.send(res, toPublicUser(user), 'Profile updated')
    if (emailChanged) queueEmailVerification(engine, user.id, readLinkBase(engine, req))
  }
}
