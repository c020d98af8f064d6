import type { Engine } from '../engine/engine.js'
import { AuthError, RefreshTokenReusedError } from '../errors.js'
import { isSessionLive } from '../storage/storage.js'
import { createAccessToken } from '../tokens/access-token.js'
import { createRefreshToken, hashRefreshToken, verifyRefreshToken } from '../tokens/refresh-token.js'
import { openSuccessor, sealSuccessor } from './lineage.js'
import type { ClientInfo, TokenPair } from './token-pair.js'

function invalid(): AuthError {
  return new AuthError('invalid_refresh_token', 'Refresh token is invalid, expired or revoked')
}

/**
 * Rotates a refresh token (docs/architecture.md, "Rotation"):
 * 1. the signature, `typ` and `exp` are checked before any database work;
 * 2. storage consumes the token atomically and stores its successor;
 * 3. a token used within the grace window gets the successor its first use issued (the lineage's
 *    newest token) and a new access token; used before that, its session is revoked and
 *    `refresh_token_reused` is thrown;
 * 4. a new access token is signed.
 */
export async function rotateRefreshToken(
  engine: Engine,
  token: string,
  client: ClientInfo,
): Promise<TokenPair> {
  // Per client IP, before any signature check or database work: a refused token keeps its point,
  // an honoured one or a server fault gives it back, so a client that refreshes normally is never limited.
  const attempt = await engine.limits.beginRefreshAttempt(client.ip)
  let pair: TokenPair
  try {
    pair = await rotate(engine, token)
  } catch (error) {
    if (!isRefusedRefreshToken(error)) await attempt.cancel()
    throw error
  }
  await attempt.succeed()
  return pair
}

/** Whether `error` says the refresh token itself was refused (invalid, expired, revoked or reused). */
export function isRefusedRefreshToken(error: unknown): error is AuthError {
  return (
    error instanceof RefreshTokenReusedError ||
    (error instanceof AuthError && error.code === 'invalid_refresh_token')
  )
}

async function rotate(engine: Engine, token: string): Promise<TokenPair> {
  const { options, storage, keys } = engine
  const claims = await verifyRefreshToken(keys, token, options)
  const now = Date.now()
  // The session gives the absolute expiry that caps the new token; the user gives the claims: one
  // joined read where the storage has it, else two side by side.
  const found = storage.findSessionWithUser
    ? await storage.findSessionWithUser(claims.sid)
    : await Promise.all([storage.findSession(claims.sid), storage.findUserById(claims.sub)]).then(
        ([session, user]) => (session && user ? { session, user } : null),
      )
  const session = found?.session
  const user = found?.user
  if (!session || session.userId !== claims.sub || !isSessionLive(session, now)) {
    throw invalid()
  }
  if (!user || user.disabledAt !== null) throw invalid()

  const refresh = await createRefreshToken(
    keys,
    user.id,
    session.id,
    Math.min(now + options.refreshTokenTtlMs, session.expiresAt),
    now,
  )
  const result = await storage.consumeRefreshToken({
    tokenHash: hashRefreshToken(token),
    sessionId: session.id,
    now,
    graceMs: options.refreshReuseGraceMs,
    next: {
      jti: refresh.jti,
      tokenHash: refresh.tokenHash,
      sessionId: session.id,
      parentJti: claims.jti,
      issuedAt: now,
      expiresAt: refresh.expiresAt,
    },
    sealedNext: sealSuccessor(token, refresh.token, session.id),
  })
  if (result.status === 'invalid') throw invalid()
  if (result.status === 'reused') {
    engine.events.emit({ type: 'refresh_reused', userId: user.id, sessionId: session.id })
    engine.events.emit({
      type: 'session_revoked',
      userId: user.id,
      sessionId: session.id,
      reason: 'reuse_detected',
    })
    throw new RefreshTokenReusedError(session.id, user.id)
  }
  // The session as the consume left it: a revocation that raced this rotation (on PostgreSQL a
  // statement sees the snapshot it began with) shows here, and no access token is signed for it.
  if (!isSessionLive(result.session, now)) throw invalid()
  // Within the grace window: the same successor the first use issued (one lineage, never a fork).
  const issued =
    result.status === 'grace' ? await openSuccessor(keys, token, session.id, result.successor) : refresh
  if (issued === null) throw invalid()
  const access = await createAccessToken(options, keys, user, result.session, now)
  engine.events.emit({
    type: result.status === 'grace' ? 'refresh_grace' : 'token_refreshed',
    userId: user.id,
    sessionId: session.id,
  })
  return { user, session: result.session, access, refresh: issued }
}
