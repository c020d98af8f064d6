/**
 * The records of the second factor and of passkeys, and the part of the Storage interface that
 * keeps them (`Storage.factors`): TOTP factors, recovery codes, passkeys, short-lived challenges
 * (WebAuthn challenges and login tickets) and the last accepted TOTP step of each user. Times are
 * epoch milliseconds. Secrets reach storage sealed, codes and tickets as hashes.
 */

/** A user's TOTP factor: the confirmed secret and/or one awaiting confirmation. */
export interface TOTPFactorRecord {
  userId: string
  /** The confirmed secret, sealed by the caller (opaque text); `null` while only a setup is pending. */
  secret: string | null
  /** When the confirmed secret was confirmed, or `null`. */
  enabledAt: number | null
  /** A secret set up but not confirmed yet, sealed; `null` when none is pending. */
  pendingSecret: string | null
  /** When the pending secret was set up, or `null`. */
  pendingCreatedAt: number | null
  /**
   * The highest time step accepted for this user, or `null`: no code of this step or an earlier
   * one is accepted again (RFC 6238 §5.2), whichever secret it was made with.
   */
  lastStep: number | null
}

/** Input of {@link FactorStorage.enableTOTPFactor}. */
export interface EnableTOTPInput {
  userId: string
  /** The pending secret the code was checked against: a newer setup in between makes the call fail. */
  pendingSecret: string
  /** The step of the code that confirmed it: it becomes the user's last accepted step. */
  step: number
  /** Hashes of the new recovery codes; they replace any the user had. */
  recoveryCodeHashes: readonly string[]
  now: number
}

/** How a passkey may carry a WebAuthn response (`AuthenticatorTransport`), as the browser says. */
export type PasskeyTransport = string

/** A registered passkey (a WebAuthn credential). */
export interface PasskeyRecord {
  /** Our id, opaque. */
  id: string
  userId: string
  /** The credential id (base64url), as the authenticator made it. Unique across users. */
  credentialId: string
  /** The COSE public key (base64url). */
  publicKey: string
  /** The signature counter last seen (`0` for authenticators that keep none). */
  counter: number
  transports: PasskeyTransport[]
  /** `singleDevice` or `multiDevice` (a synced passkey), from the backup-eligible flag. */
  deviceType: 'singleDevice' | 'multiDevice'
  /** The backup-state flag last seen. */
  backedUp: boolean
  /** A name for people, e.g. "Laptop". */
  name: string
  createdAt: number
  lastUsedAt: number | null
}

/** What a passkey's use changes. */
export interface PasskeyUse {
  counter: number
  backedUp: boolean
  now: number
}

/** What a challenge is for; a challenge of one purpose is never valid for another. */
export type ChallengePurpose = 'mfa_login' | 'passkey_register' | 'passkey_login'

/** A short-lived, single-use challenge: a login ticket (`mfa_login`) or a WebAuthn challenge. */
export interface ChallengeRecord {
  /** Hex SHA-256 of the ticket, or a random id the client names the challenge by. */
  id: string
  purpose: ChallengePurpose
  /** The user it belongs to, or `null` (a usernameless passkey login). */
  userId: string | null
  /** The WebAuthn challenge (base64url), or `null` for a login ticket. */
  challenge: string | null
  /** Attempts taken so far (login tickets). */
  attempts: number
  createdAt: number
  expiresAt: number
}

/** The outcome of {@link FactorStorage.deletePasskey}. */
export type DeletePasskeyResult = 'deleted' | 'not_found' | 'last_credential'

/**
 * The second factor's storage. Every adapter implements it beside its `Storage` and the
 * conformance suite checks each point:
 * - `acceptTOTPStep` is a compare-and-set: under parallel calls with one step, exactly one wins.
 * - `consumeRecoveryCode` and `consumeChallenge` are single-use under parallel calls.
 * - `takeChallengeAttempt` never lets more than `maxAttempts` attempts through, however many race.
 * - Enabling or disabling TOTP and adding or removing a passkey update the user's `mfa` summary in
 *   the same atomic step.
 */
export interface FactorStorage {
  /** The user's TOTP factor (confirmed or pending), or `null`. */
  findTOTPFactor(userId: string): Promise<TOTPFactorRecord | null>
  /** Stores a pending secret, replacing a pending one; a confirmed secret stays as it is. */
  setPendingTOTPSecret(userId: string, sealedSecret: string, now: number): Promise<void>
  /**
   * Turns the pending secret into the confirmed one, atomically: only if it still equals
   * `pendingSecret` and `step` is after the last accepted step. Replaces the recovery codes and sets
   * `mfa.totp`. Returns whether it did.
   */
  enableTOTPFactor(input: EnableTOTPInput): Promise<boolean>
  /**
   * Records `step` as accepted if the user has a confirmed secret and `step` is after the last
   * accepted one; returns whether it did (a compare-and-set: a code is accepted once).
   */
  acceptTOTPStep(userId: string, step: number): Promise<boolean>
  /** Deletes the TOTP factor and the recovery codes, and clears `mfa.totp`; returns whether TOTP was on. */
  disableTOTPFactor(userId: string, now: number): Promise<boolean>

  /** Replaces the user's recovery codes with these hashes (the old ones stop working). */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], now: number): Promise<void>
  /** Marks an unused recovery code used; returns whether it was (once, under parallel calls). */
  consumeRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>
  /** How many unused recovery codes the user has. */
  countRecoveryCodes(userId: string): Promise<number>

  /**
   * Stores a passkey and counts it in the user's `mfa.passkeys`; returns `false` (and stores
   * nothing) when a passkey with the same credential id exists.
   */
  createPasskey(passkey: PasskeyRecord): Promise<boolean>
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]>
  /** The passkey with this credential id, whoever owns it, or `null`. */
  findPasskeyByCredentialId(credentialId: string): Promise<PasskeyRecord | null>
  /** Records a use: the new counter and backup flag, and `lastUsedAt`. */
  recordPasskeyUse(id: string, use: PasskeyUse): Promise<void>
  /** Renames one passkey of `userId`; returns whether it exists. */
  renamePasskey(id: string, userId: string, name: string): Promise<boolean>
  /**
   * Deletes one passkey of `userId`. With `keepOne`, refuses (`last_credential`) to delete the
   * user's only passkey, atomically: two parallel deletes of a user's last two never both win.
   */
  deletePasskey(id: string, userId: string, options?: { keepOne?: boolean }): Promise<DeletePasskeyResult>

  /** Stores a challenge. */
  createChallenge(challenge: ChallengeRecord): Promise<void>
  /**
   * Takes one attempt of an unused, unexpired challenge of `purpose` that has had fewer than
   * `maxAttempts`, and returns it (its `attempts` counting this one); else `null`.
   */
  takeChallengeAttempt(
    id: string,
    purpose: ChallengePurpose,
    now: number,
    maxAttempts: number,
  ): Promise<ChallengeRecord | null>
  /** Uses up an unused, unexpired challenge of `purpose` and returns it; else `null` (once under races). */
  consumeChallenge(id: string, purpose: ChallengePurpose, now: number): Promise<ChallengeRecord | null>

  /**
   * Records that session `sessionId` authenticated again at `authTime` with `amr`: what its next
   * access tokens carry. Returns whether the session exists.
   */
  updateSessionAuthentication(sessionId: string, authTime: number, amr: readonly string[]): Promise<boolean>

  /** Deletes challenges expired before `now`; returns how many. */
  deleteExpiredChallenges(now: number): Promise<number>
}
