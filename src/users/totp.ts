import { Secret, TOTP } from 'otpauth'
import { renderSVG } from 'uqr'
import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import type { UserRecord } from '../storage/storage.js'
import { beginFactorChange, type FactorActor, findActiveUser, revokeOtherSessions } from './factor-change.js'
import { createRecoveryCodes, hashRecoveryCode, sealTOTPSecret, unsealTOTPSecret } from './factor-secrets.js'
import { queueSecurityNotice } from './notices.js'

export type { FactorActor } from './factor-change.js'

/* TOTP (RFC 6238) as the contract fixes it: SHA-1, 6 digits, 30 s steps, one step either way. The
 * algorithm is otpauth's; this file is the composition: sealed secrets, steps accepted once. */

const PERIOD = 30
const DIGITS = 6
const WINDOW = 1
/** How the factor is named in security notices. */
const FACTOR_NAME = 'an authenticator app (TOTP)'

/** `data` of `POST /auth/mfa/totp/setup`. */
export interface TOTPSetup {
  /** The secret, base32, for typing into an app by hand. */
  secret: string
  /** `otpauth://totp/…`, what the QR code holds. */
  otpauthUrl: string
  /** The QR code of `otpauthUrl` as an SVG document, rendered on the server (no external request). */
  qrCodeSvg: string
}

function totpFor(engine: Engine, user: Pick<UserRecord, 'username'>, secret: string): TOTP {
  return new TOTP({
    issuer: engine.options.webauthn.rpName,
    label: user.username,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: Secret.fromBase32(secret),
  })
}

/**
 * The time step a code belongs to, checked against `secret` (base32) within one step either way,
 * or `null` when it matches none. The caller still has to accept the step once (`acceptTOTPStep`).
 */
export function matchTOTPStep(secret: string, code: string, now = Date.now()): number | null {
  const token = code.replace(/\s/g, '')
  if (!/^\d{6}$/.test(token)) return null
  const totp = new TOTP({
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: Secret.fromBase32(secret),
  })
  const delta = totp.validate({ token, timestamp: now, window: WINDOW })
  return delta === null ? null : TOTP.counter({ period: PERIOD, timestamp: now }) + delta
}

/** The wrong code of a confirm or a disable: the request's fault, `400`. */
function wrongCode(): AuthError {
  return new AuthError('invalid_mfa_code', 'The code is wrong or was already used', { status: 400 })
}

/**
 * `POST /mfa/totp/setup`: after a re-authentication, a fresh secret (160 bits), sealed at rest,
 * pending until a code confirms it. Nothing changes for the login until then; a new setup replaces
 * an unconfirmed one, and a confirmed factor keeps working meanwhile.
 */
export async function setUpTOTP(
  engine: Engine,
  actor: FactorActor,
  input: { currentPassword?: string },
): Promise<TOTPSetup> {
  const user = await beginFactorChange(engine, actor, input.currentPassword)
  const secret = new Secret({ size: 20 }).base32
  const sealed = sealTOTPSecret(engine.options, user.id, secret)
  await engine.storage.factors.setPendingTOTPSecret(user.id, sealed, Date.now())
  const otpauthUrl = totpFor(engine, user, secret).toString()
  return { secret, otpauthUrl, qrCodeSvg: renderSVG(otpauthUrl, { border: 2 }) }
}

/**
 * `POST /mfa/totp/confirm`: a code of the pending secret turns TOTP on, and answers the ten recovery
 * codes, shown this once. The code's step counts as used. A wrong code: `400 invalid_mfa_code`.
 * A confirm that replaces a secret already on (and its recovery codes) ends the user's other
 * sessions; turning TOTP on for the first time removes nothing and leaves them.
 */
export async function confirmTOTP(
  engine: Engine,
  actor: FactorActor,
  input: { code: string },
): Promise<{ recoveryCodes: string[] }> {
  await engine.limits.consumeSensitiveChange(actor.userId, actor.client.ip)
  const user = await findActiveUser(engine, actor.userId)
  const factor = await engine.storage.factors.findTOTPFactor(user.id)
  if (!factor?.pendingSecret) throw wrongCode()
  const secret = unsealTOTPSecret(engine.options, user.id, factor.pendingSecret)
  const step = matchTOTPStep(secret, input.code)
  if (step === null) throw wrongCode()
  const { codes, hashes } = createRecoveryCodes(engine.options)
  const enabled = await engine.storage.factors.enableTOTPFactor({
    userId: user.id,
    pendingSecret: factor.pendingSecret,
    step,
    recoveryCodeHashes: hashes,
    now: Date.now(),
  })
  // A newer setup in between, or a step already used: the code confirms nothing.
  if (!enabled) throw wrongCode()
  if (user.mfa.totp) await revokeOtherSessions(engine, actor)
  engine.events.emit({ type: 'mfa_enabled', userId: user.id, sessionId: actor.sessionId })
  queueSecurityNotice(engine, user, 'factor_added', { factor: FACTOR_NAME })
  return { recoveryCodes: codes }
}

/**
 * Checks a second-factor code of `user`: six digits are a TOTP code of the confirmed secret, whose
 * step is then used up; anything else is tried as a recovery code, used up too. Returns which kind
 * passed, or `null`.
 */
export async function useSecondFactorCode(
  engine: Engine,
  user: UserRecord,
  input: { code?: string; recoveryCode?: string },
): Promise<'totp' | 'recovery_code' | null> {
  const { factors } = engine.storage
  const now = Date.now()
  const code = input.code?.replace(/\s/g, '')
  if (code !== undefined && /^\d{6}$/.test(code)) {
    const factor = await factors.findTOTPFactor(user.id)
    if (!factor?.secret) return null
    const step = matchTOTPStep(unsealTOTPSecret(engine.options, user.id, factor.secret), code, now)
    // The compare-and-set makes a code (and every earlier step) good once, however many race.
    return step !== null && (await factors.acceptTOTPStep(user.id, step)) ? 'totp' : null
  }
  const recovery = input.recoveryCode ?? input.code
  if (recovery === undefined || recovery.trim() === '') return null
  const used = await factors.consumeRecoveryCode(user.id, hashRecoveryCode(engine.options, recovery), now)
  return used ? 'recovery_code' : null
}

/**
 * `POST /mfa/totp/disable`: after a re-authentication and with a TOTP or recovery code, turns TOTP
 * off, deletes the recovery codes and ends the user's other sessions. A wrong code: `400
 * invalid_mfa_code`.
 */
export async function disableTOTP(
  engine: Engine,
  actor: FactorActor,
  input: { currentPassword?: string; code: string },
): Promise<void> {
  const user = await beginFactorChange(engine, actor, input.currentPassword)
  if (!user.mfa.totp || (await useSecondFactorCode(engine, user, { code: input.code })) === null) {
    throw wrongCode()
  }
  await engine.storage.factors.disableTOTPFactor(user.id, Date.now())
  await revokeOtherSessions(engine, actor)
  engine.events.emit({ type: 'mfa_disabled', userId: user.id, sessionId: actor.sessionId })
  queueSecurityNotice(engine, user, 'factor_removed', { factor: FACTOR_NAME })
}

/**
 * `POST /mfa/recovery-codes`: after a re-authentication, ten new recovery codes; the old ones stop
 * working, and so do the user's other sessions (one of them may have been opened with an old
 * code, the usual reason to renew them). `404 not_found` while TOTP is off (recovery codes stand
 * in for it).
 */
export async function regenerateRecoveryCodes(
  engine: Engine,
  actor: FactorActor,
  input: { currentPassword?: string },
): Promise<{ recoveryCodes: string[] }> {
  const user = await beginFactorChange(engine, actor, input.currentPassword)
  if (!user.mfa.totp) throw new AuthError('not_found', 'TOTP is off: there are no recovery codes to renew')
  const { codes, hashes } = createRecoveryCodes(engine.options)
  await engine.storage.factors.replaceRecoveryCodes(user.id, hashes, Date.now())
  await revokeOtherSessions(engine, actor)
  return { recoveryCodes: codes }
}
