import type { Engine } from '../engine/engine.js'
import { AuthError, MFARequiredError } from '../errors.js'
import { randomToken, sha256Hex } from '../internal/crypto.js'
import type { MFAChallenge } from '../protocol/envelope.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { UserRecord } from '../storage/storage.js'
import { useSecondFactorCode } from './totp.js'

/** How long a login ticket lives. */
export const MFA_TICKET_TTL_MS = 5 * 60_000
/** How many codes one ticket may try. */
export const MFA_TICKET_ATTEMPTS = 5

/** What a completed login proved, for the session it opens. */
export interface CompletedLogin {
  user: UserRecord
  /** RFC 8176 method values for the session's tokens. */
  amr: string[]
}

/**
 * Whether `user` must give a second factor after `firstFactor` (`pwd`, or `hwk` for a passkey that
 * did not verify the user): TOTP is on.
 */
export function needsSecondFactor(user: UserRecord): boolean {
  return user.mfa.totp
}

/*
 * A ticket's `challenge` holds the first factor's method, and after a space the thumbprint of the
 * DPoP key the session is to be bound to, where the first step named one (a provider sign-in's
 * start, whose navigation carried no proof): `fed`, `fed <jkt>`.
 */
function encodeFirstStep(firstFactor: string, jkt: string | null): string {
  return jkt === null ? firstFactor : `${firstFactor} ${jkt}`
}

function decodeFirstStep(challenge: string | null): { firstFactor: string; jkt: string | null } {
  const [firstFactor, jkt] = (challenge ?? 'pwd').split(' ')
  return { firstFactor: firstFactor || 'pwd', jkt: jkt || null }
}

/**
 * Opens a login ticket for `user` after the first factor (`pwd`, `hwk`, `fed`), and for a session
 * to be bound to the DPoP key `jkt` when given. The ticket is random (256 bits), stored as its
 * SHA-256, lives 5 minutes and allows 5 codes; no session exists until a code completes it.
 */
export async function openLoginTicket(
  engine: Engine,
  user: UserRecord,
  firstFactor: string,
  jkt: string | null = null,
): Promise<MFAChallenge> {
  const mfaToken = randomToken(32)
  const now = Date.now()
  await engine.storage.factors.createChallenge({
    id: sha256Hex(mfaToken),
    purpose: 'mfa_login',
    userId: user.id,
    challenge: encodeFirstStep(firstFactor, jkt),
    attempts: 0,
    createdAt: now,
    expiresAt: now + MFA_TICKET_TTL_MS,
  })
  return { mfaToken, methods: ['totp', 'recovery_code'] }
}

/** Opens a login ticket for `user` (see {@link openLoginTicket}) and throws `401 mfa_required` carrying it. */
export async function requireSecondFactor(
  engine: Engine,
  user: UserRecord,
  firstFactor: string,
): Promise<never> {
  throw new MFARequiredError(await openLoginTicket(engine, user, firstFactor))
}

/** Body of `POST /auth/mfa/verify`: the ticket and one code. */
export interface VerifyMFAInput {
  mfaToken: string
  code?: string
  recoveryCode?: string
}

function invalidTicket(): AuthError {
  return new AuthError('invalid_mfa_token', 'The login ticket is unknown, expired or used up; log in again')
}

/**
 * `POST /auth/mfa/verify`: completes a login with a TOTP or a recovery code. Each try takes one of
 * the ticket's five attempts first (atomically, so parallel tries cannot exceed them) and counts
 * against the login limits of the user's name and the client's IP like a password; a wrong or
 * replayed code: `401 invalid_mfa_code`; a ticket unknown, expired, used or out of tries: `401
 * invalid_mfa_token`. A right code uses the ticket up, and the limits forget the failures. A
 * ticket whose first step named a DPoP key binds the session to that key; a proof by another key
 * (`client.jkt`) is refused (`401 invalid_dpop_proof`) before the code is looked at. Resolves to
 * the login and the key its session is bound to (the ticket's, else the proof's, else none).
 */
export async function verifyMFALogin(
  engine: Engine,
  input: VerifyMFAInput,
  client: ClientInfo,
): Promise<CompletedLogin & { jkt: string | null }> {
  const { factors } = engine.storage
  const id = sha256Hex(input.mfaToken)
  const ticket = await factors.takeChallengeAttempt(id, 'mfa_login', Date.now(), MFA_TICKET_ATTEMPTS)
  if (!ticket?.userId) throw invalidTicket()
  const user = await engine.storage.findUserById(ticket.userId)
  if (!user || user.disabledAt !== null) throw invalidTicket()
  const { firstFactor, jkt } = decodeFirstStep(ticket.challenge)
  if (jkt !== null && client.jkt != null && client.jkt !== jkt) {
    throw new AuthError('invalid_dpop_proof', 'The DPoP proof is by another key than the sign-in named')
  }
  const attempt = await engine.limits.beginLoginAttempt(user.username, client.ip)
  let method: 'totp' | 'recovery_code' | null
  try {
    method = await useSecondFactorCode(engine, user, input)
  } catch (error) {
    await attempt.cancel()
    throw error
  }
  if (method === null) {
    engine.events.emit({ type: 'login_failed', userId: user.id, ip: client.ip ?? undefined, reason: 'mfa' })
    throw new AuthError('invalid_mfa_code', 'The code is wrong or was already used')
  }
  // Another request with the same ticket may have won meanwhile: one ticket opens one session.
  if (!(await factors.consumeChallenge(id, 'mfa_login', Date.now()))) throw invalidTicket()
  await attempt.succeed()
  return { user, amr: [firstFactor, 'otp', 'mfa'], jkt: jkt ?? client.jkt ?? null }
}
