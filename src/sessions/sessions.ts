import { randomUUID } from 'node:crypto'
import { toAppUser } from '../config/app-options.js'
import { runBeforeHook } from '../engine/app-hooks.js'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { SessionRecord, UserRecord } from '../storage/storage.js'
import { createAccessToken } from '../tokens/access-token.js'
import { createRefreshToken } from '../tokens/refresh-token.js'
import { readAppClaims } from './app-claims.js'
import type { ClientInfo, TokenPair } from './token-pair.js'

const MAX_USER_AGENT = 512
const MAX_IP = 64

/** Options of {@link openSession}. */
export interface OpenSessionOptions {
  /**
   * How the user authenticated (RFC 8176 method values), carried by every token of the session as
   * `amr`. Default `['pwd']`.
   */
  amr?: readonly string[]
}

/**
 * Opens a new session (one login on one device) for `user` and issues its first pair. The session
 * records when and how it authenticated (`auth_time`, `amr`), for its tokens now and after refreshes.
 * The app's `beforeSessionCreate` hook may refuse it first; the access token is signed before the
 * session is stored, so that a failing `claims` function leaves none. With `client.jkt` (the
 * thumbprint of the key of a DPoP proof the login carried) the session is bound to that key: its
 * tokens carry `cnf.jkt`.
 */
export async function openSession(
  engine: Engine,
  user: UserRecord,
  client: ClientInfo,
  reason: 'register' | 'login',
  openOptions: OpenSessionOptions = {},
): Promise<TokenPair> {
  return (await prepareSession(engine, user, client, reason, openOptions)).store()
}

/** A session whose tokens are signed, not yet stored: `store()` writes it and answers its pair. */
export interface PreparedSession {
  store(): Promise<TokenPair>
}

/**
 * Everything {@link openSession} does before it writes: the hook, the tokens, the app's claims.
 * A registration prepares the session before it writes the user, so that a `claims` function
 * that fails leaves neither.
 */
export async function prepareSession(
  engine: Engine,
  user: UserRecord,
  client: ClientInfo,
  reason: 'register' | 'login',
  openOptions: OpenSessionOptions = {},
): Promise<PreparedSession> {
  const { options, storage, keys } = engine
  // At registration the hook ran before the user was written (registerUser).
  const { beforeSessionCreate } = options.hooks
  if (beforeSessionCreate && reason !== 'register') {
    const appUser = toAppUser(user)
    await runBeforeHook('hooks.beforeSessionCreate', () =>
      beforeSessionCreate({ user: appUser, client, reason }),
    )
  }
  const now = Date.now()
  const sessionId = randomUUID()
  const expiresAt = now + options.sessionMaxAgeMs
  const jkt = client.jkt ?? null
  const refresh = await createRefreshToken(
    keys,
    { userId: user.id, sessionId, jkt },
    Math.min(now + options.refreshTokenTtlMs, expiresAt),
    now,
  )
  const session: SessionRecord = {
    id: sessionId,
    userId: user.id,
    createdAt: now,
    lastUsedAt: now,
    expiresAt,
    idleExpiresAt: refresh.expiresAt,
    userAgent: client.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
    ip: client.ip?.slice(0, MAX_IP) ?? null,
    revokedAt: null,
    revokedReason: null,
    authTime: now,
    amr: [...(openOptions.amr ?? ['pwd'])],
    dpopJkt: jkt,
  }
  const claims = await readAppClaims(engine, user, session, reason)
  const access = await createAccessToken(
    options,
    keys,
    user,
    { ...session, jkt },
    {
      now,
      ...(claims ? { claims } : {}),
    },
  )
  return {
    async store() {
      await storage.createSession(session, {
        jti: refresh.jti,
        tokenHash: refresh.tokenHash,
        sessionId,
        parentJti: null,
        issuedAt: now,
        expiresAt: refresh.expiresAt,
      })
      if (options.maxSessionsPerUser !== null)
        await enforceSessionCap(engine, user.id, options.maxSessionsPerUser, now)
      return { user, session, access, refresh }
    },
  }
}

/**
 * Keeps at most `cap` live sessions for the user: the least recently used beyond it (never the
 * one just opened, which is the most recent) are revoked with reason `session_limit`. Two logins
 * at the same instant may each see the other's session and leave one too few, never one too many
 * for long: the next login trims again.
 */
async function enforceSessionCap(engine: Engine, userId: string, cap: number, now: number): Promise<void> {
  const live = await engine.storage.listActiveSessions(userId, now)
  if (live.length <= cap) return
  const byLastUse = [...live].sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt)
  for (const session of byLastUse.slice(cap)) {
    if (await engine.storage.revokeSession(session.id, userId, 'session_limit', now)) {
      engine.events.emit({ type: 'session_revoked', userId, sessionId: session.id, reason: 'session_limit' })
    }
  }
}

/** The active sessions of a user, newest first. */
export function listSessions(engine: Engine, userId: string): Promise<SessionRecord[]> {
  return engine.storage.listActiveSessions(userId, Date.now())
}

/** Revokes one session of `userId`; `not_found` when it is not theirs or not active. */
export async function revokeOwnSession(engine: Engine, userId: string, sessionId: string): Promise<void> {
  const revoked = await engine.storage.revokeSession(sessionId, userId, 'session_deleted', Date.now())
  if (!revoked) throw new AuthError('not_found', 'No such session')
}
