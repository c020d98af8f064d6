import type { Request, RequestHandler, Response } from 'express'
import { HOOK_REFUSAL_CODES } from '../../config/app-options.js'
import type { Engine } from '../../engine/engine.js'
import { AuthError, FederationError, RateLimitError } from '../../errors.js'
import { FLOW_LIFETIME_MS } from '../../oidc/flow-cookie.js'
import { createFlowSecrets, describeFlowFailure } from '../../oidc/relying-party.js'
import { resolveReturnTo, withErrorCode, withMFATicket } from '../../oidc/return-to.js'
import type { ProviderEntry } from '../../protocol/wire-schemas.js'
import { linkIdentity, signInWithIdentity } from '../../users/federation.js'
import { readClientInfo } from '../client-info.js'
import { dpopCheckOf, readDPoPHeader, verifyRequestProof } from '../dpop.js'
import { sendError } from '../envelope.js'
import {
  clearFlowCookie,
  type Federation,
  federationOf,
  openFederatedSession,
  readLoggedInUser,
  readRedirectURI,
  readRelyingParty,
  setFlowCookie,
} from '../federation.js'
import type { RouteAnswer, RouteHandler } from '../route-table.js'
import { readCookie } from '../token-source.js'

/** Sends the browser on: a redirect that no cache keeps. */
function redirect(res: Response, location: string): void {
  res.setHeader('Cache-Control', 'no-store')
  res.redirect(302, location)
}

/** A refusal by one of the app's hooks (`forbidden`, `validation_failed`, …): its code goes to the page as it is. */
function isHookRefusal(error: unknown): error is AuthError {
  return error instanceof AuthError && (HOOK_REFUSAL_CODES as readonly string[]).includes(error.code)
}

/**
 * Ends a failed flow: a redirect to `returnTo` with `?error=<code>` and nothing logged in. The
 * log line names the provider and the failed check, never the code, a token or the provider's words.
 */
function redirectWithError(
  federation: Federation,
  res: Response,
  returnTo: string,
  provider: string,
  error: unknown,
): void {
  const code =
    error instanceof FederationError || isHookRefusal(error)
      ? error.code
      : error instanceof RateLimitError
        ? 'rate_limited'
        : 'oidc_failed'
  const logger = federation.engine.options.logger
  if (error instanceof FederationError || error instanceof RateLimitError || isHookRefusal(error)) {
    logger.warn({ provider, outcome: code, ...describeFlowFailure(error) }, 'oidc: sign-in failed')
  } else {
    const err =
      error instanceof Error
        ? { name: error.name, message: error.message, stack: error.stack }
        : { message: String(error) }
    logger.error({ provider, err }, 'oidc: sign-in failed')
  }
  redirect(res, withErrorCode(returnTo, code))
}

/** Runs a flow step; an unknown provider is a `404` in the envelope, any other failure a redirect with its code. */
async function runFlowStep(
  federation: Federation,
  req: Request,
  res: Response,
  step: (returnTo: { value: string }) => Promise<void>,
): Promise<void> {
  const returnTo = { value: resolveReturnTo(req.query.returnTo) }
  let party: ReturnType<typeof readRelyingParty>
  try {
    party = readRelyingParty(federation, req)
  } catch (error) {
    sendError(res, error)
    return
  }
  try {
    await step(returnTo)
  } catch (error) {
    redirectWithError(federation, res, returnTo.value, party.provider.name, error)
  }
}

/**
 * The key a sign-in's session is to be bound to: a navigation carries no `DPoP` header, so the
 * start names the key's thumbprint (`?dpop_jkt=`, RFC 9449 §10) and the client's first refresh
 * proves it. Refused when malformed, and when absent under `DPOP=required`; ignored with `off`.
 */
function readStartBinding(engine: Engine, req: Request): string | null {
  if (engine.options.dpop === 'off') return null
  const jkt = req.query.dpop_jkt
  if (jkt === undefined) {
    if (engine.options.dpop === 'required')
      throw new FederationError('oidc_failed', 'DPoP is required: send dpop_jkt')
    return null
  }
  if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) {
    throw new FederationError('oidc_failed', 'dpop_jkt is not a key thumbprint')
  }
  return jkt
}

/**
 * The key the callback's session is bound to: the one the start named, or that of a DPoP proof
 * the callback itself carries (a client that follows the redirects itself can send one; a
 * browser's navigation cannot). A broken proof, or one by another key than the start named,
 * fails the sign-in.
 */
async function readCallbackBinding(
  engine: Engine,
  req: Request,
  named: string | null,
): Promise<string | null> {
  if (engine.options.dpop === 'off') return named
  try {
    const proof = readDPoPHeader(req)
    if (proof === null) return named
    const { jkt } = await verifyRequestProof(req, proof, dpopCheckOf(engine))
    if (named !== null && jkt !== named)
      throw new AuthError('invalid_dpop_proof', 'Another key than the start named')
    return jkt
  } catch (error) {
    if (!(error instanceof AuthError) || error.code !== 'invalid_dpop_proof') throw error
    throw new FederationError('oidc_failed', `DPoP: ${error.message}`, { cause: error })
  }
}

/**
 * `GET /oidc/:provider/start`: sends the browser to the provider (authorization code with PKCE
 * S256, `state` and `nonce`), keeping the flow in a sealed cookie that only the callback gets.
 * With `?link=1` and a valid access token, the callback links the provider to that user.
 */
export function oidcStartHandler(engine: Engine): RequestHandler {
  const federation = federationOf(engine)
  return async function oidcStart(req, res) {
    await runFlowStep(federation, req, res, async (returnTo) => {
      const party = readRelyingParty(federation, req)
      let linkUserId: string | null = null
      if (req.query.link === '1') {
        linkUserId = await readLoggedInUser(engine, req)
        if (linkUserId === null)
          throw new FederationError('login_required', 'Log in to link an identity provider')
      }
      const redirectUri = readRedirectURI(engine, party.provider, req)
      if (redirectUri === null) {
        throw new FederationError('oidc_failed', 'No redirect URI: set APP_URL or the provider redirectUri')
      }
      const dpopJkt = readStartBinding(engine, req)
      const secrets = createFlowSecrets(party.provider)
      const location = await party.authorizationURL(redirectUri, secrets)
      const sealed = federation.sealer.seal(party.provider.name, {
        ...secrets,
        returnTo: returnTo.value,
        linkUserId,
        dpopJkt,
        expiresAt: Date.now() + FLOW_LIFETIME_MS,
      })
      setFlowCookie(federation, res, redirectUri, sealed)
      redirect(res, location.href)
    })
  }
}

/**
 * `GET /oidc/:provider/callback`: the provider's redirect back. Rate-limited per IP; the flow
 * cookie is cleared whatever happens; the code is exchanged and the ID token checked
 * (openid-client); then the identity signs in (or, for a link, joins the logged-in user) and the
 * browser goes on to `returnTo` (with `#mfa_token=` when the user has a second factor to give).
 * Every failure: `302` to `returnTo?error=<code>`, nothing logged in.
 */
export function oidcCallbackHandler(engine: Engine): RequestHandler {
  const federation = federationOf(engine)
  return async function oidcCallback(req, res) {
    await runFlowStep(federation, req, res, async (returnTo) => {
      const party = readRelyingParty(federation, req)
      const redirectUri = readRedirectURI(engine, party.provider, req)
      if (redirectUri === null) throw new FederationError('oidc_failed', 'No redirect URI')
      const flow = federation.sealer.open(
        party.provider.name,
        readCookie(req, federation.cookieName),
        Date.now(),
      )
      clearFlowCookie(federation, res, redirectUri)
      // The returnTo the start checked and sealed, not one from this URL's query.
      returnTo.value = flow?.returnTo ?? '/'
      await engine.limits.consumeOIDCCallback(readClientInfo(req).ip)
      if (!flow)
        throw new FederationError('oidc_failed', 'No sign-in in progress (missing or expired cookie)')
      const dpopJkt = await readCallbackBinding(engine, req, flow.dpopJkt ?? null)
      const query = new URL(req.originalUrl, 'http://callback.invalid').searchParams
      const profile = await party.completeSignIn(redirectUri, query, flow)
      if (flow.linkUserId !== null) {
        // The same user must still be logged in here as at the start.
        if ((await readLoggedInUser(engine, req)) !== flow.linkUserId) {
          throw new FederationError('login_required', 'Log in again to link the provider')
        }
        await linkIdentity(engine, flow.linkUserId, profile)
        redirect(res, returnTo.value)
        return
      }
      const signIn = await signInWithIdentity(engine, profile, readClientInfo(req))
      const ticket = await openFederatedSession(engine, req, res, signIn, dpopJkt)
      redirect(res, ticket === null ? returnTo.value : withMFATicket(returnTo.value, ticket))
    })
  }
}

/** `GET /oidc/providers`: the configured providers, for sign-in buttons. */
export function oidcProvidersHandler(
  engine: Engine,
  answer: RouteAnswer<ProviderEntry[]>,
): RouteHandler<undefined> {
  const entries = engine.options.providers.map((p) => ({ name: p.name, label: p.label }))
  return function oidcProviders(_req, res) {
    answer.send(res, entries, 'Identity providers')
  }
}
