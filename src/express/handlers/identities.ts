import type { Engine } from '../../engine/engine.js'
import { AuthError } from '../../errors.js'
import type { IdentityEntry } from '../../protocol/wire-schemas.js'
import { listIdentities, unlinkIdentity } from '../../users/identities.js'
import type { UnlinkIdentityInput } from '../../users/user-schemas.js'
import { readClientInfo } from '../client-info.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'

/** `GET /identities`: the provider accounts linked to the user, oldest first. */
export function identitiesHandler(
  engine: Engine,
  answer: RouteAnswer<IdentityEntry[]>,
): RouteHandler<undefined> {
  return async function identities(req, res) {
    const list = await listIdentities(engine, req.auth!.userId)
    const data = list.map((i) => ({
      id: i.id,
      provider: i.provider,
      email: i.email,
      createdAt: new Date(i.createdAt).toISOString(),
    }))
    answer.send(res, data, 'Linked identities')
  }
}

/** `DELETE /identities/:id`: unlinks one, after re-authentication; never the account's last way in. */
export function deleteIdentityHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<UnlinkIdentityInput> {
  return async function deleteIdentity(req, res, input) {
    const id = req.params.id
    if (typeof id !== 'string' || id.length > 64) throw new AuthError('not_found', 'No such identity')
    await unlinkIdentity(
      engine,
      { userId: req.auth!.userId, sessionId: req.auth!.sessionId, client: readClientInfo(req) },
      id,
      input?.currentPassword,
    )
    answer.send(res, null, 'Identity unlinked')
  }
}
