import type { Engine } from '../../engine/engine.js'
import { AuthError } from '../../errors.js'
import type { PublicUser, SessionEntry } from '../../protocol/wire-schemas.js'
import { listSessions, revokeOwnSession } from '../../sessions/sessions.js'
import { changePassword } from '../../users/accounts.js'
import type { ChangePasswordInput } from '../../users/user-schemas.js'
import { toPublicUser } from '../../users/user-view.js'
import { readClientInfo } from '../client-info.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'

/** `GET /me`: the current user, read fresh from storage. */
export function meHandler(engine: Engine, answer: RouteAnswer<PublicUser>): RouteHandler<undefined> {
  return async function me(req, res) {
    const user = await engine.storage.findUserById(req.auth!.userId)
    if (!user || user.disabledAt !== null) throw new AuthError('invalid_token', 'User no longer exists')
    answer.send(res, toPublicUser(user), 'Current user')
  }
}

/** `POST /change-password`: checks the current password, sets the new one, ends the other sessions. */
export function changePasswordHandler(
  engine: Engine,
  answer: RouteAnswer<null>,
): RouteHandler<ChangePasswordInput> {
  return async function changePasswordRoute(req, res, input) {
    await changePassword(
      engine,
      { userId: req.auth!.userId, sessionId: req.auth!.sessionId, client: readClientInfo(req) },
      input,
    )
    engine.events.emit({ type: 'password_changed', userId: req.auth!.userId, sessionId: req.auth!.sessionId })
    answer.send(res, null, 'Password changed; other sessions were signed out')
  }
}

/** `GET /sessions`: the user's active sessions, newest first, the current one marked. */
export function sessionsHandler(
  engine: Engine,
  answer: RouteAnswer<SessionEntry[]>,
): RouteHandler<undefined> {
  return async function sessions(req, res) {
    const list = await listSessions(engine, req.auth!.userId)
    const data = list.map((s) => ({
      id: s.id,
      createdAt: new Date(s.createdAt).toISOString(),
      lastUsedAt: new Date(s.lastUsedAt).toISOString(),
      expiresAt: new Date(s.idleExpiresAt).toISOString(),
      userAgent: s.userAgent,
      ip: s.ip,
      current: s.id === req.auth!.sessionId,
      bound: s.dpopJkt !== null,
    }))
    answer.send(res, data, 'Active sessions')
  }
}

/** `DELETE /sessions/:id`: revokes one of the user's own sessions; another's is `404`. */
export function deleteSessionHandler(engine: Engine, answer: RouteAnswer<null>): RouteHandler<undefined> {
  return async function deleteSession(req, res) {
    const id = req.params.id
    if (typeof id !== 'string' || id.length > 64) throw new AuthError('not_found', 'No such session')
    await revokeOwnSession(engine, req.auth!.userId, id)
    engine.events.emit({
      type: 'session_revoked',
      userId: req.auth!.userId,
      sessionId: id,
      reason: 'session_deleted',
    })
    answer.send(res, null, 'Session revoked')
  }
}
