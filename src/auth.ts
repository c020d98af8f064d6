import type { RequestHandler, Router } from 'express'
import { type AuthOptions, type ResolvedOptions, resolveOptions } from './config/options.js'
import { AuthError } from './errors.js'
import { createServerRequireAuth, type RequireAuthOptions } from './express/require-auth.js'
import { createAuthRouter, errorHandler, jwksHandler, notFoundHandler } from './express/router.js'
import type { Engine } from './internal/engine.js'
import { openStorage } from './storage/open-storage.js'
import type { Storage } from './storage/storage.js'
import { verifyAccessToken } from './tokens/access-token.js'
import type { AccessTokenClaims } from './tokens/claims.js'
import { type JWKSet, KeyRing } from './tokens/keys.js'

/** What `createAuth` returns: the router, the middleware and the parts behind them. */
export interface Auth {
  /** Settings in force, defaults applied. */
  readonly options: ResolvedOptions
  /** The storage in use. */
  readonly storage: Storage
  /** Every route of API.md; mount it at `basePath` (`/auth`). */
  router(): Router
  /** Middleware that demands a valid access token and sets `req.auth`. */
  requireAuth(options?: RequireAuthOptions): RequestHandler
  /** `GET /.well-known/jwks.json` for the app's root. */
  jwks(): RequestHandler
  /** The public JWK Set. */
  jwkSet(): JWKSet
  /** `404 not_found` in the envelope, for the end of an app. */
  notFound(): RequestHandler
  /** Renders errors in the envelope, for the end of an app. */
  errorHandler(): ReturnType<typeof errorHandler>
  /** Verifies an access token outside Express. Throws `AuthError`. */
  verifyAccessToken(token: string): Promise<AccessTokenClaims>
  /** Whether the database answers. */
  isReady(): Promise<boolean>
  /** Closes the storage (when `createAuth` opened it). */
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
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const resolved = resolveOptions(options)
  const ownsStorage = resolved.storage === null
  const storage = resolved.storage ?? (await openStorage(resolved.databaseUrl!))
  try {
    await storage.migrate()
    const keys = new KeyRing(resolved, storage)
    await keys.load()
    const engine: Engine = Object.freeze({ options: resolved, storage, keys })
    return {
      options: resolved,
      storage,
      router: () => createAuthRouter(engine),
      requireAuth: (opts) => createServerRequireAuth(engine, opts),
      jwks: () => jwksHandler(engine),
      jwkSet: () => keys.jwks,
      notFound: () => notFoundHandler(),
      errorHandler: () => errorHandler(engine),
      verifyAccessToken: (token) => verifyAccessToken(resolved, keys, token),
      isReady: async () => {
        try {
          await storage.ping()
          return true
        } catch (error) {
          if (error instanceof AuthError) return false
          throw error
        }
      },
      close: async () => {
        if (ownsStorage) await storage.close()
      },
    }
  } catch (error) {
    if (ownsStorage) await storage.close()
    throw error
  }
}
