import type { Request, RequestHandler, Router } from 'express'
import { type AuthOptions, type ResolvedOptions, resolveOptions } from './config/options.js'
import type { Engine } from './engine/engine.js'
import { AuthError } from './errors.js'
import { EventBus, type SecurityEventListener } from './events/events.js'
import { type RequestAuth, type RequireAuthOptions, readRequestAuth } from './express/require-auth.js'
import {
  createAuthRouter,
  errorHandler,
  jwksHandler,
  notFoundHandler,
  revokedSessionsHandler,
} from './express/router.js'
import { createServerRequireAuth } from './express/server-require-auth.js'
import { createDemoPageRouter } from './express/web-pages.js'
import { deriveKey } from './internal/crypto.js'
import { RateLimits } from './limits/rate-limits.js'
import { Mailer } from './mail/mailer.js'
import { REVOCATIONS_CHANNEL } from './protocol/wire-schemas.js'
import { startSweeping } from './sessions/sweeper.js'
import { openDatabaseHandle, openStorage } from './storage/open-storage.js'
import { observeRevocations, SessionStatusCache } from './storage/session-status-cache.js'
import type { Storage, SweepResult, UserMetadata } from './storage/storage.js'
import { verifyAccessToken } from './tokens/access-token.js'
import type { ClaimsWith, CustomClaims, NoClaims } from './tokens/custom-claims.js'
import { DPoPNonces } from './tokens/dpop-nonce.js'
import { MemoryDPoPReplayStore, RedisDPoPReplayStore } from './tokens/dpop-replay.js'
import { type JWKSet, KeyRing } from './tokens/keys.js'
import { createSessionsAPI, createUsersAPI, type SessionsAPI, type UsersAPI } from './users/user-admin.js'

/**
 * What `createAuth` returns: the router, the middleware and the parts behind them. `C` is the
 * type of the app's own access-token claims (the `claims` option).
 */
export interface Auth<C extends CustomClaims = NoClaims, M extends UserMetadata = UserMetadata> {
  /** Settings in force, defaults applied. */
  readonly options: ResolvedOptions
  /** The storage in use. */
  readonly storage: Storage
  /**
   * Users, for the app's own admin pages without an HTTP round trip: find, list, create, disable,
   * enable, set roles, revoke sessions, reset the second factor (the operations of `tokenpair
   * users`, with the same events). None checks who asks: guard the page that calls them.
   */
  readonly users: UsersAPI<M>
  /** Sessions of any user: list a user's live sessions, revoke one. */
  readonly sessions: SessionsAPI
  /** Every route of the HTTP contract (docs/api.md); mount it at `basePath` (`/auth`). */
  router(): Router
  /** Middleware that demands a valid access token and sets `req.auth`. */
  requireAuth(options?: RequireAuthOptions): RequestHandler
  /** `GET /.well-known/jwks.json` for the app's root. */
  jwks(): RequestHandler
  /**
   * `GET /.well-known/revoked-sessions` for the app's root: the sessions revoked within the
   * access-token lifetime, which `createVerifier({ revocations: true })` polls.
   */
  revokedSessions(): RequestHandler
  /** The public JWK Set. */
  jwkSet(): JWKSet
  /**
   * The pages the verification and reset mails link to, `/verify-email` and `/reset-password`
   * (the demo's page: it completes the link with the router's routes), with the files they load
   * (`/demo.js`, `/demo.css`, `/tokenpair-client.js`). Mount it at the root of the app that
   * `appUrl` names, beside `router()` at `basePath` (docs/email.md).
   */
  pages(): Router
  /** `404 not_found` in the envelope, for the end of an app. */
  notFound(): RequestHandler
  /** Renders errors in the envelope, for the end of an app. */
  errorHandler(): ReturnType<typeof errorHandler>
  /**
   * `req.auth` with the app's claims typed, in a route behind `requireAuth()`; `401
   * missing_token` where none ran.
   */
  readAuth(req: Request): RequestAuth<C>
  /** Verifies an access token outside Express. Throws `AuthError`. */
  verifyAccessToken(token: string): Promise<ClaimsWith<C>>
  /** Whether the database answers. */
  isReady(): Promise<boolean>
  /** Security events (logins, refresh reuse, revocations): add a listener, get its remover. */
  readonly events: { subscribe(listener: SecurityEventListener): () => void }
  /** Re-reads the signing keys from storage now (they are also re-read every `keyReloadInterval`). */
  reloadKeys(): Promise<void>
  /**
   * Resolves once every mail queued so far (verification, reset) was sent or given up: for tests,
   * and before a planned stop. `close()` does not wait for retries; this does.
   */
  flushMail(): Promise<void>
  /** Deletes expired sessions and tokens now (it also happens every `sweepInterval`). */
  sweep(): Promise<SweepResult>
  /**
   * Stops the key reload timer and closes what `createAuth` opened: the storage of a database
   * URL. A Storage, pool, database or Kysely instance the app handed in stays open.
   */
  close(): Promise<void>
}

/**
 * Opens the database (migrating it), loads or creates the signing keys, and returns the router
 * and middleware of tokenpair.
 *
 * @example
 * ```ts
 * const auth = await createAuth({ database: 'sqlite:./data/auth.db', secret: process.env.AUTH_SECRET })
 * app.use('/auth', auth.router())
 * app.get('/api/notes', auth.requireAuth(), (req, res) => res.json({ user: req.auth!.userId }))
 * ```
 */
export async function createAuth<C extends CustomClaims = NoClaims, M extends UserMetadata = UserMetadata>(
  options: AuthOptions<C, M>,
): Promise<Auth<C, M>> {
  const resolved = resolveOptions(options)
  // A Storage of the app's is its to close; a storage made here is closed by close(), and one made
  // on the app's handle then releases nothing of the handle.
  const ownsStorage = resolved.storage === null
  const storage =
    resolved.storage ??
    (resolved.databaseHandle
      ? await openDatabaseHandle(resolved.databaseHandle, { tablePrefix: resolved.tablePrefix })
      : await openStorage(resolved.databaseUrl!, { tablePrefix: resolved.tablePrefix }))
  try {
    await storage.migrate()
    const keys = new KeyRing(resolved, storage)
    await keys.load()
    const events = new EventBus(resolved.logger)
    if (resolved.onEvent) events.subscribe(resolved.onEvent)
    const sessionCache = new SessionStatusCache({ ttlMs: resolved.sessionCheckCacheTtlMs })
    const limits = await RateLimits.create(resolved.rateLimits, resolved.logger)
    const mailer = new Mailer(resolved.mail, resolved.logger)
    // Said once, at start, so that a developer knows where verification links went.
    if (mailer.writesOutbox) {
      resolved.logger.info(
        { outbox: resolved.mail.outboxDir },
        'mail: no SMTP server configured (SMTP_URL); mails are written as .eml files into the outbox folder',
      )
    }
    const engine: Engine = Object.freeze({
      options: resolved,
      // Revocations made through the engine clear the session-status cache at once.
      storage: observeRevocations(storage, sessionCache),
      keys,
      events,
      limits,
      sessionCache,
      mailer,
      dpopReplay: limits.redisClient
        ? new RedisDPoPReplayStore(limits.redisClient, { keyPrefix: resolved.rateLimits.keyPrefix })
        : new MemoryDPoPReplayStore(),
      // Derived from the secret every instance shares, so that each accepts the others' nonces.
      dpopNonces: resolved.dpopNonce
        ? new DPoPNonces(deriveKey(resolved.secret ?? resolved.refreshTokenSecret!, 'dpop-nonce'))
        : null,
    })
    // Verifiers that listen on Redis (`createVerifier({ revocations: true, redisUrl })`) read the
    // revocation feed at once after a revocation here, rather than at their next poll.
    const redis = limits.redisClient
    if (redis) {
      const channel = `${resolved.rateLimits.keyPrefix}:${REVOCATIONS_CHANNEL}`
      sessionCache.onRevocation(() => {
        redis.publish(channel, 'revoked').catch(() => {
          // Redis down: the verifiers' polling still picks the revocation up.
        })
      })
    }
    // Last, so that a failed start leaves no timer behind.
    keys.startReloading(resolved.keyReloadIntervalMs)
    const sweeper = startSweeping(storage, resolved.sweepIntervalMs, resolved.logger, {
      graceMs: resolved.refreshReuseGraceMs,
    })
    return {
      options: resolved,
      storage,
      users: createUsersAPI<M>(engine),
      sessions: createSessionsAPI(engine),
      router: () => createAuthRouter(engine),
      requireAuth: (opts) => createServerRequireAuth(engine, opts),
      jwks: () => jwksHandler(engine),
      revokedSessions: () => revokedSessionsHandler(engine),
      pages: () => createDemoPageRouter({ mailPagesOnly: true }),
      jwkSet: () => keys.jwks,
      notFound: () => notFoundHandler(),
      errorHandler: () => errorHandler(engine),
      readAuth: (req) => readRequestAuth<C>(req),
      verifyAccessToken: async (token) => (await verifyAccessToken(resolved, keys, token)) as ClaimsWith<C>,
      isReady: async () => {
        try {
          await storage.ping()
          return true
        } catch (error) {
          if (error instanceof AuthError) return false
          throw error
        }
      },
      events: { subscribe: (listener) => events.subscribe(listener) },
      reloadKeys: () => keys.reload(),
      flushMail: () => mailer.flush(),
      sweep: () => sweeper.sweepNow(),
      close: async () => {
        keys.stopReloading()
        sweeper.stop()
        // Before the storage closes: a mail job may still be writing its token.
        await mailer.close()
        await limits.close()
        if (ownsStorage) await storage.close()
      },
    }
  } catch (error) {
    if (ownsStorage) await storage.close()
    throw error
  }
}
