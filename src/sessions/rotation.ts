import type { Engine } from '../engine/engine.js'
import { AuthError, RefreshTokenReusedError } from '../errors.js'
import { isSessionLive } from '../storage/storage.js'
import { createAccessToken } from '../tokens/access-token.js'
import type { RefreshTokenClaims } from '../tokens/claims.js'
import { createRefreshToken, hashRefreshToken, verifyRefreshToken } from '../tokens/refresh-token.js'
import { readAppClaims } from './app-claims.js'
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
    pair = await rotate(engine, token, client)
  } catch (error) {
    // A refresh refused for its proof counts too: a thief holding a bound token has no key to try.
    const refusedProof = error instanceof AuthError && error.code === 'invalid_dpop_proof'
    if (!isRefusedRefreshToken(error) && !refusedProof) await attempt.cancel()
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

/**
 * The DPoP rule of a refresh, checked before any database work, so that a refresh refused for
 * its proof leaves the token unconsumed and the session as it was: a bound session needs a valid
 * proof by its key; an unbound one is refused a broken proof, and any refresh without a proof
 * when `dpop` is `required`.
 */
function checkRefreshProof(engine: Engine, claims: RefreshTokenClaims, client: ClientInfo): void {
  const bound = claims.cnf?.jkt
  if (bound !== undefined) {
    if (client.jkt === bound) return
    // A nonce challenge is the protocol's ordinary first step, not a refresh without the key.
    if (client.proofError?.code === 'use_dpop_nonce') throw client.proofError
    engine.events.emit({
      type: 'refresh_unbound',
      userId: claims.sub,
      sessionId: claims.sid,
      ip: client.ip ?? undefined,
    })
    throw (
      client.proofError ?? new AuthError('invalid_dpop_proof', 'This session needs a DPoP proof by its key')
    )
  }
  if (client.proofError) throw client.proofError
  if (engine.options.dpop === 'required') {
    throw new AuthError('invalid_dpop_proof', 'A DPoP proof is required')
  }
}

async function rotate(engine: Engine, token: string, client: ClientInfo): Promise<TokenPair> {
  const { options, storage, keys } = engine
  const claims = await verifyRefreshToken(keys, token, options)
  if (options.dpop !== 'off') checkRefreshProof(engine, claims, client)
  // With DPoP off, a rotation drops a binding made before, rather than issue tokens no proof comes with.
  const jkt = options.dpop === 'off' ? null : (claims.cnf?.jkt ?? null)
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

  // Before the consume: a claims function that fails must not burn the presented token.
  const appClaims = await readAppClaims(engine, user, session, 'refresh')
  const refresh = await createRefreshToken(
    keys,
    { userId: user.id, sessionId: session.id, jkt },
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
  const access = await createAccessToken(
    options,
    keys,
    user,
    { ...result.session, jkt },
    {
      now,
      ...(appClaims ? { claims: appClaims } : {}),
    },
  )
  engine.events.emit({
    type: result.status === 'grace' ? 'refresh_grace' : 'token_refreshed',
    userId: user.id,
    sessionId: session.id,
  })
  return { user, session: result.session, access, refresh: issued }
}
