import { randomInt, randomUUID } from 'node:crypto'
import type { AppClient } from '../config/app-options.js'
import type { Engine } from '../engine/engine.js'
import { AuthError, FederationError } from '../errors.js'
import type { ProviderProfile } from '../oidc/provider-profile.js'
import type { IdentityRecord, UserRecord } from '../storage/storage.js'
import { runProviderRegistrationHooks } from './registration-hooks.js'
import { initialMetadata } from './user-metadata.js'

/*
 * Accounts behind a sign-in with an identity provider. The identity's key is the provider's
 * issuer and subject, never its address: a first sign-in creates a user, a later one finds it, and
 * an address that belongs to an existing account is never linked on its own (`account_exists`),
 * since whoever controls an account at some provider would otherwise take over the tokenpair
 * account of that address. Linking is a deliberate act of a logged-in user.
 */

/** The stored `passwordHash` of an account without a password: no hash verifies against it. */
export const NO_PASSWORD = ''

/** Whether the user can log in with a password. */
export function hasPassword(user: UserRecord): boolean {
  return user.passwordHash !== NO_PASSWORD
}

/** Tries at a free username: the provider's name first, then with a random number behind it. */
const USERNAME_ATTEMPTS = 6

/**
 * The username the provider's name suggests, in the rules of usernames (3 to 30 of `a-z 0-9 _ .
 * -`): lower-cased, other characters made `_`, cut to leave room for a suffix, `user` when nothing
 * is left.
 */
export function suggestUsername(profile: Pick<ProviderProfile, 'username' | 'email'>): string {
  const source = profile.username ?? profile.email?.split('@')[0] ?? ''
  const cleaned = source
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[_.-]+|[_.-]+$/g, '')
    .slice(0, 24)
  return cleaned.length >= 3 ? cleaned : `user${cleaned ? `_${cleaned}` : ''}`.slice(0, 24)
}

/** The provider's address, as the rules of addresses have it (trimmed, lower-cased, at most 254), or `null`. */
function readAddress(profile: ProviderProfile): string | null {
  const email = profile.email?.trim().toLowerCase() ?? ''
  if (email.length === 0 || email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return null
  return email
}

function newIdentity(userId: string, profile: ProviderProfile, email: string | null): IdentityRecord {
  return {
    id: randomUUID(),
    userId,
    provider: profile.provider,
    issuer: profile.issuer,
    subject: profile.subject,
    email,
    createdAt: Date.now(),
  }
}

/** The user of a linked identity, refused when disabled. */
async function userOfIdentity(engine: Engine, identity: IdentityRecord): Promise<UserRecord> {
  const user = await engine.storage.findUserById(identity.userId)
  if (!user) throw new FederationError('oidc_failed', 'The linked account no longer exists')
  if (user.disabledAt !== null) throw new FederationError('account_disabled', 'This account is disabled')
  return user
}

/**
 * The user a provider's person signs in as: the one their identity is linked to, else a new user
 * (a free username derived from the provider's, the provider's address, verified only when the
 * provider says so, no password) created together with the identity, once the app's registration
 * hooks let it ({@link runProviderRegistrationHooks}; a refusal passes through and nothing is written).
 * Throws `FederationError('account_exists')` when the address is an existing account's,
 * `email_missing` without an address, `account_disabled` for a disabled user.
 */
export async function signInWithIdentity(
  engine: Engine,
  profile: ProviderProfile,
  client: AppClient,
): Promise<{ user: UserRecord; created: boolean }> {
  const linked = await engine.storage.findIdentity(profile.issuer, profile.subject)
  if (linked) return { user: await userOfIdentity(engine, linked), created: false }
  const email = readAddress(profile)
  if (email === null)
    throw new FederationError('email_missing', 'The identity provider gave no usable address')
  const base = suggestUsername(profile)
  const now = Date.now()
  const draft: Omit<UserRecord, 'passwordHash'> = {
    id: randomUUID(),
    username: base,
    email,
    fullname: (profile.fullname?.trim() || base).slice(0, 100),
    roles: ['user'],
    emailVerified: profile.emailVerified,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    mfa: { totp: false, passkeys: 0 },
    metadata: initialMetadata(engine.options.metadata),
  }
  const fullname = await runProviderRegistrationHooks(engine, draft, profile.provider, client)
  for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
    const username = attempt === 0 ? base : `${base}${randomInt(1000, 1_000_000)}`
    const user: UserRecord = { ...draft, username, fullname, passwordHash: NO_PASSWORD }
    try {
      if (await engine.storage.createUserWithIdentity(user, newIdentity(user.id, profile, email))) {
        return { user, created: true }
      }
    } catch (error) {
      if (error instanceof AuthError && error.code === 'username_taken') continue
      if (error instanceof AuthError && error.code === 'email_taken') {
        throw new FederationError('account_exists', 'An account with this address exists; log in and link it')
      }
      throw error
    }
    // The identity was linked meanwhile (a parallel first sign-in of the same person): use that.
    const raced = await engine.storage.findIdentity(profile.issuer, profile.subject)
    if (raced) return { user: await userOfIdentity(engine, raced), created: false }
  }
  throw new FederationError('oidc_failed', 'No free username could be found')
}

/**
 * Links the provider's person to `userId` (a logged-in user who asked for it). Linking it again to
 * the same user is a no-op; `FederationError('identity_taken')` when another user has it.
 */
export async function linkIdentity(
  engine: Engine,
  userId: string,
  profile: ProviderProfile,
): Promise<UserRecord> {
  const user = await engine.storage.findUserById(userId)
  if (!user) throw new FederationError('login_required', 'Log in to link an identity provider')
  if (user.disabledAt !== null) throw new FederationError('account_disabled', 'This account is disabled')
  const identity = newIdentity(userId, profile, readAddress(profile))
  if (await engine.storage.createIdentity(identity)) return user
  const existing = await engine.storage.findIdentity(profile.issuer, profile.subject)
  if (existing?.userId === userId) return user
  throw new FederationError('identity_taken', 'This provider account is linked to another user')
}
