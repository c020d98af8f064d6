import { randomUUID } from 'node:crypto'
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import type { Engine } from '../engine/engine.js'
import { AuthError, ValidationError } from '../errors.js'
import { randomToken, sha256Hex } from '../internal/crypto.js'
import type { PasskeyRecord } from '../storage/storage.js'
import { beginFactorChange, type FactorActor, findActiveUser, revokeOtherSessions } from './factor-change.js'
import type { CompletedLogin } from './mfa-login.js'
import { queueSecurityNotice } from './notices.js'
import { hasPassword } from './reauthentication.js'

/* Passkeys (WebAuthn) with @simplewebauthn/server: the verification is the library's; this file
 * keeps the challenges single-use in storage (so that every instance agrees), the credentials, and
 * the rules of the contract. */

/** How long a WebAuthn challenge lives. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000
/** COSE algorithms offered: EdDSA (-8) and ES256 (-7). */
const ALGORITHMS = [-8, -7]
const FACTOR_NAME = 'a passkey'

/** The relying party of one request: its id (a domain), its name, and the origins it accepts. */
export interface RelyingParty {
  id: string
  name: string
  origins: readonly string[]
}

/** The WebAuthn user handle of a user: its id's bytes (opaque, and no personal data). */
function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, 'utf8'))
}

async function storeChallenge(
  engine: Engine,
  purpose: 'passkey_register' | 'passkey_login',
  id: string,
  challenge: string,
  userId: string | null,
): Promise<void> {
  const now = Date.now()
  await engine.storage.factors.createChallenge({
    id,
    purpose,
    userId,
    challenge,
    attempts: 0,
    createdAt: now,
    expiresAt: now + PASSKEY_CHALLENGE_TTL_MS,
  })
}

/**
 * `POST /passkeys/register/options`: after a re-authentication, the options of a new credential:
 * a resident key (discoverable, for usernameless login), user verification preferred, ES256 and
 * EdDSA, the user's passkeys excluded. The challenge is kept, single-use, for 5 minutes.
 */
export async function passkeyRegistrationOptions(
  engine: Engine,
  actor: FactorActor,
  input: { currentPassword?: string },
  rp: RelyingParty,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const user = await beginFactorChange(engine, actor, input.currentPassword)
  const existing = await engine.storage.factors.listPasskeys(user.id)
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    userDisplayName: user.fullname,
    userID: userHandleOf(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    supportedAlgorithmIDs: ALGORITHMS,
    timeout: PASSKEY_CHALLENGE_TTL_MS,
  })
  // The register call carries no challenge id: the challenge itself, from clientDataJSON, names it.
  await storeChallenge(engine, 'passkey_register', sha256Hex(options.challenge), options.challenge, user.id)
  return options
}

function refusedResponse(message: string): ValidationError {
  return new ValidationError([{ path: 'response', message }], 'The passkey was not registered')
}

/**
 * `POST /passkeys/register`: verifies the new credential against a challenge this user was given
 * (used up by the attempt, whatever its outcome), this relying party and its origins, and stores
 * it with its counter and backup flags. A response that fails: `400 validation_failed`.
 */
export async function registerPasskey(
  engine: Engine,
  actor: FactorActor,
  input: { response: Record<string, unknown>; name?: string },
  rp: RelyingParty,
): Promise<PasskeyRecord> {
  const user = await findActiveUser(engine, actor.userId)
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>
  try {
    verification = await verifyRegistrationResponse({
      response: input.response as unknown as RegistrationResponseJSON,
      expectedChallenge: async (challenge) => {
        const stored = await engine.storage.factors.consumeChallenge(
          sha256Hex(challenge),
          'passkey_register',
          Date.now(),
        )
        return stored?.userId === user.id
      },
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      requireUserVerification: false,
      supportedAlgorithmIDs: ALGORITHMS,
    })
  } catch (error) {
    if (error instanceof AuthError) throw error
    throw refusedResponse(error instanceof Error ? error.message : 'not a valid registration')
  }
  if (!verification.verified) throw refusedResponse('not a valid registration')
  const info = verification.registrationInfo
  const count = (await engine.storage.factors.listPasskeys(user.id)).length
  const passkey: PasskeyRecord = {
    id: randomUUID(),
    userId: user.id,
    credentialId: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: [...(info.credential.transports ?? [])],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    name: input.name ?? `Passkey ${count + 1}`,
    createdAt: Date.now(),
    lastUsedAt: null,
  }
  if (!(await engine.storage.factors.createPasskey(passkey))) {
    throw refusedResponse('this passkey is registered already')
  }
  engine.events.emit({ type: 'passkey_added', userId: user.id, sessionId: actor.sessionId })
  queueSecurityNotice(engine, user, 'factor_added', { factor: FACTOR_NAME })
  return passkey
}

/** `PATCH /passkeys/:id`: renames one of the user's passkeys; `404 not_found` for another's. */
export async function renamePasskey(
  engine: Engine,
  userId: string,
  id: string,
  name: string,
): Promise<PasskeyRecord> {
  if (!(await engine.storage.factors.renamePasskey(id, userId, name))) {
    throw new AuthError('not_found', 'No such passkey')
  }
  const renamed = (await engine.storage.factors.listPasskeys(userId)).find((p) => p.id === id)
  if (!renamed) throw new AuthError('not_found', 'No such passkey')
  return renamed
}

/**
 * `DELETE /passkeys/:id`: after a re-authentication; the user's other sessions end (the passkey
 * may be on a lost device, and sessions it opened with it). `404 not_found` for another user's;
 * `409 last_credential` when it is the account's only way in (no password, no other passkey).
 */
export async function deletePasskey(
  engine: Engine,
  actor: FactorActor,
  id: string,
  input: { currentPassword?: string },
): Promise<void> {
  const user = await beginFactorChange(engine, actor, input.currentPassword)
  const result = await engine.storage.factors.deletePasskey(id, user.id, { keepOne: !hasPassword(user) })
  if (result === 'not_found') throw new AuthError('not_found', 'No such passkey')
  if (result === 'last_credential') {
    throw new AuthError('last_credential', 'This passkey is the only way into the account')
  }
  await revokeOtherSessions(engine, actor)
  engine.events.emit({ type: 'passkey_removed', userId: user.id, sessionId: actor.sessionId })
  queueSecurityNotice(engine, user, 'factor_removed', { factor: FACTOR_NAME })
}

/**
 * `POST /passkeys/login/options`: a challenge for a usernameless login (discoverable credentials,
 * no allow list), kept single-use for 5 minutes under a random id.
 */
export async function passkeyLoginOptions(
  engine: Engine,
  rp: RelyingParty,
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'preferred',
    timeout: PASSKEY_CHALLENGE_TTL_MS,
  })
  const challengeId = randomToken(24)
  await storeChallenge(engine, 'passkey_login', challengeId, options.challenge, null)
  return { challengeId, options }
}

function refusedAssertion(): AuthError {
  return new AuthError('invalid_credentials', 'The passkey was not accepted')
}

/**
 * `POST /passkeys/login`: uses up the challenge, finds the credential and its owner (the user
 * handle must name the same user), and verifies the assertion (signature, challenge, origin, RP
 * ID, counter). A failed or replayed assertion: `401 invalid_credentials`. The counter and backup
 * flag are kept. A passkey that verified the user is a whole login (`amr` `hwk`, `mfa`); one that
 * did not is a first factor only, for a user with TOTP (`requiresSecondFactor`).
 */
export async function loginWithPasskey(
  engine: Engine,
  input: { challengeId: string; response: Record<string, unknown> },
  rp: RelyingParty,
): Promise<CompletedLogin & { userVerified: boolean }> {
  const { factors } = engine.storage
  const challenge = await factors.consumeChallenge(input.challengeId, 'passkey_login', Date.now())
  if (!challenge?.challenge) throw refusedAssertion()
  const response = input.response as unknown as AuthenticationResponseJSON
  const passkey = await factors.findPasskeyByCredentialId(response.id)
  if (!passkey) throw refusedAssertion()
  const handle = response.response?.userHandle
  if (handle !== undefined && handle !== Buffer.from(userHandleOf(passkey.userId)).toString('base64url')) {
    throw refusedAssertion()
  }
  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransport[],
      },
      requireUserVerification: false,
    })
  } catch {
    throw refusedAssertion()
  }
  if (!verification.verified) throw refusedAssertion()
  const info = verification.authenticationInfo
  await factors.recordPasskeyUse(passkey.id, {
    counter: info.newCounter,
    backedUp: info.credentialBackedUp,
    now: Date.now(),
  })
  const user = await engine.storage.findUserById(passkey.userId)
  if (!user || user.disabledAt !== null) throw refusedAssertion()
  return { user, amr: info.userVerified ? ['hwk', 'mfa'] : ['hwk'], userVerified: info.userVerified }
}
