import type { CookieOptions, Request, Response } from 'express'
import type { ResolvedOIDCProvider } from '../config/oidc-providers.js'
import { runAfterSessionHook } from '../engine/app-hooks.js'
import type { Engine } from '../engine/engine.js'
import { AuthError, FederationError } from '../errors.js'
import { FLOW_COOKIE, FLOW_LIFETIME_MS, FlowCookieSealer } from '../oidc/flow-cookie.js'
import { RelyingParty } from '../oidc/relying-party.js'
import { resolveCookieNames } from '../protocol/cookies.js'
import type { MFAChallenge } from '../protocol/envelope.js'
import { isSessionActive } from '../sessions/session-check.js'
import { openSession } from '../sessions/sessions.js'
import type { UserRecord } from '../storage/storage.js'
import { verifyAccessToken } from '../tokens/access-token.js'
import { needsSecondFactor, openLoginTicket } from '../users/mfa-login.js'
import { readClientInfo } from './client-info.js'
import { setTokenCookies } from './cookies.js'
import { readLinkBase } from './handlers/email.js'
import { readAccessToken } from './token-source.js'

/** What the identity-provider routes of one engine share: a relying party per provider (each keeps its discovery), the cookie sealer. */
export interface Federation {
  readonly engine: Engine
  readonly parties: ReadonlyMap<string, RelyingParty>
  readonly sealer: FlowCookieSealer
  /** The flow cookie's name under the configured prefix. */
  readonly cookieName: string
}

const federations = new WeakMap<Engine, Federation>()

/** The federation of `engine`, made on first use and shared by its routers. */
export function federationOf(engine: Engine): Federation {
  let federation = federations.get(engine)
  if (!federation) {
    const { options } = engine
    // The secret that derives the refresh-token key; with HS256 and both token secrets, that one.
    const secret = options.secret ?? options.refreshTokenSecret!
    federation = Object.freeze({
      engine,
      parties: new Map(options.providers.map((p) => [p.name, new RelyingParty(p)])),
      sealer: new FlowCookieSealer(secret),
      cookieName: options.cookiePrefix === 'none' ? FLOW_COOKIE : `__Secure-${FLOW_COOKIE}`,
    })
    federations.set(engine, federation)
  }
  return federation
}

/** The relying party that the route's `:provider` names; `404 not_found` for one not configured. */
export function readRelyingParty(federation: Federation, req: Request): RelyingParty {
  const name = req.params.provider
  const party = typeof name === 'string' ? federation.parties.get(name) : undefined
  if (!party) throw new AuthError('not_found', 'No such identity provider')
  return party
}

/**
 * The redirect URI of a provider: its `redirectUri`, else the callback route under `appUrl` (or
 * the request's own origin when it is loopback or allowed: a forged `Host` must not choose it).
 * `null` when no trusted origin is known.
 */
export function readRedirectURI(engine: Engine, provider: ResolvedOIDCProvider, req: Request): string | null {
  if (provider.redirectUri !== null) return provider.redirectUri
  const base = readLinkBase(engine, req)
  if (base === null) return null
  const prefix = engine.options.basePath === '/' ? '' : engine.options.basePath
  return `${base.replace(/\/+$/, '')}${prefix}/oidc/${provider.name}/callback`
}

/** The flow cookie's attributes: only the callback gets it back, for ten minutes at most. */
function flowCookieOptions(engine: Engine, redirectUri: string): CookieOptions {
  return {
    httpOnly: true,
    secure: engine.options.cookieSecure,
    // Lax: the provider's redirect back is a top-level cross-site GET, which Lax cookies ride on.
    sameSite: 'lax',
    path: new URL(redirectUri).pathname,
  }
}

/** Sets the flow cookie for the callback at `redirectUri`. */
export function setFlowCookie(
  federation: Federation,
  res: Response,
  redirectUri: string,
  sealed: string,
): void {
  res.cookie(federation.cookieName, sealed, {
    ...flowCookieOptions(federation.engine, redirectUri),
    maxAge: FLOW_LIFETIME_MS,
  })
}

/** Clears the flow cookie: a callback uses it once, whatever its outcome. */
export function clearFlowCookie(federation: Federation, res: Response, redirectUri: string): void {
  res.clearCookie(federation.cookieName, flowCookieOptions(federation.engine, redirectUri))
}

/**
 * The user id of the request's valid access token (header or cookie) with a live session, or
 * `null`. What authorises a link: the start records it and the callback demands the same user.
 */
export async function readLoggedInUser(engine: Engine, req: Request): Promise<string | null> {
  const presented = readAccessToken(req, resolveCookieNames(engine.options.cookiePrefix))
  if (!presented) return null
  try {
    const claims = await verifyAccessToken(engine.options, engine.keys, presented.token)
    return (await isSessionActive(engine, claims.sid, claims.sub)) ? claims.sub : null
  } catch (error) {
    if (error instanceof AuthError && error.code !== 'unavailable') return null
    throw error
  }
}

/**
 * Where a sign-in with an identity provider opens its session, the one place: the session (its
 * tokens' `amr` is `["fed"]`) and its pair, the token cookies, the events, the app's hook
 * (`afterRegister` for a user the sign-in `created`, whose registration hooks already ran,
 * `afterLogin` otherwise). A user with a second factor gets no session here but a login ticket,
 * returned for the redirect to carry (the provider stood in for the password; `POST /mfa/verify`
 * opens the session, its `amr` `["fed", "otp", "mfa"]`, bound to `dpopJkt` as this one would have
 * been). Resolves to `null` when the session is open.
 */
export async function openFederatedSession(
  engine: Engine,
  req: Request,
  res: Response,
  signIn: { user: UserRecord; created: boolean },
  dpopJkt: string | null,
): Promise<MFAChallenge | null> {
  const { user, created } = signIn
  if (user.disabledAt !== null) throw new FederationError('account_disabled', 'This account is disabled')
  if (needsSecondFactor(user)) return openLoginTicket(engine, user, 'fed', dpopJkt)
  // With `dpopJkt` the session is bound to the key the start named (its first refresh proves it).
  const client = { ...readClientInfo(req), jkt: dpopJkt }
  const reason = created ? 'register' : 'login'
  const pair = await openSession(engine, user, client, reason, { amr: ['fed'] })
  const ip = client.ip ?? undefined
  const { events } = engine
  if (created) events.emit({ type: 'user_registered', userId: user.id, ip })
  events.emit({ type: 'login_succeeded', userId: user.id, sessionId: pair.session.id, ip })
  events.emit({ type: 'session_created', userId: user.id, sessionId: pair.session.id, ip })
  await runAfterSessionHook(engine, created ? 'afterRegister' : 'afterLogin', pair, client)
  setTokenCookies(res, engine.options, {
    accessToken: pair.access.token,
    refreshToken: pair.refresh.token,
    refreshExpiresAt: pair.refresh.expiresAt,
  })
  return null
}
