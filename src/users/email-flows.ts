import type { Engine } from '../engine/engine.js'
import { AuthError } from '../errors.js'
import { randomToken, sha256Hex } from '../internal/crypto.js'
import type { MailTemplate } from '../mail/mail-templates.js'
import { describeDuration } from '../mail/mail-templates.js'
import type { ComposedMail } from '../mail/mailer.js'
import type { ClientInfo } from '../sessions/token-pair.js'
import type { EmailTokenPurpose, UserRecord } from '../storage/storage.js'
import { queueSecurityNotice } from './notices.js'
import { assertPasswordAllowed } from './password-policy.js'
import { hashPassword } from './passwords.js'
import type { PasswordResetInput } from './user-schemas.js'

/* Email verification and password reset (docs/email.md). Mail tokens are 256 random bits, stored only as SHA-256, consumed atomically by the
 * storage (exactly one of parallel consumers wins), and bound to the address they were mailed to. */

/** Bytes of randomness in a mail token: 256 bits, twice the 128 that docs/api.md promises. */
const MAIL_TOKEN_BYTES = 32

/** The page of each purpose, under `APP_URL`. */
const LINK_PATHS: Record<EmailTokenPurpose, string> = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
}

/**
 * Creates a mail token for `user` (superseding their earlier one of the same purpose) and renders
 * its mail. The token leaves this function only inside the mail.
 */
async function composeTokenMail(
  engine: Engine,
  user: UserRecord,
  purpose: EmailTokenPurpose,
  linkBase: string,
): Promise<ComposedMail> {
  const now = Date.now()
  const ttl = purpose === 'verify_email' ? engine.options.emailVerifyTtlMs : engine.options.passwordResetTtlMs
  const token = randomToken(MAIL_TOKEN_BYTES)
  await engine.storage.createEmailToken({
    tokenHash: sha256Hex(token),
    userId: user.id,
    purpose,
    email: user.email,
    createdAt: now,
    expiresAt: now + ttl,
  })
  const link = `${linkBase}${LINK_PATHS[purpose]}?token=${encodeURIComponent(token)}`
  const templates = engine.options.mail.templates
  const template: MailTemplate = purpose === 'verify_email' ? templates.verifyEmail : templates.resetPassword
  const rendered = template({
    link,
    user: { username: user.username, fullname: user.fullname, email: user.email },
    validFor: describeDuration(ttl),
    expiresAt: new Date(now + ttl),
  })
  return { to: user.email, ...rendered, secrets: [token, link] }
}

/**
 * Queues a verification mail for the user's current address, in the background: nothing is sent
 * to a disabled user or an address already verified. `linkBase` is `null` when no trusted origin
 * is known (no `appUrl` and a request from a host that is not trusted): then no mail is sent, and
 * the log says why.
 */
export function queueEmailVerification(engine: Engine, userId: string, linkBase: string | null): void {
  engine.mailer.dispatch('verify_email', async () => {
    if (linkBase === null) {
      warnNoLinkBase(engine, 'verify_email')
      return null
    }
    // Read afresh: the address may have changed since the request that queued this.
    const user = await engine.storage.findUserById(userId)
    if (!user || user.disabledAt !== null || user.emailVerified) return null
    if (!(await engine.limits.allowVerificationMail(user.email))) {
      engine.options.logger.warn({ userId }, 'verification mail not sent: too many to this address lately')
      return null
    }
    return composeTokenMail(engine, user, 'verify_email', linkBase)
  })
}

/**
 * A password-reset request for `email`: counted per client IP and per address (which throws
 * `rate_limited` past either limit), for every request, known address or not. The lookup and the
 * mail then run in the background, after the answer, so that the request does the same work, and
 * takes the same time, whether or not the address belongs to anyone.
 */
export async function requestPasswordReset(
  engine: Engine,
  email: string,
  client: ClientInfo,
  linkBase: string | null,
): Promise<void> {
  await engine.limits.consumePasswordResetRequest(client.ip, email)
  queuePasswordReset(engine, email, linkBase)
}

function queuePasswordReset(engine: Engine, email: string, linkBase: string | null): void {
  engine.mailer.dispatch('reset_password', async () => {
    const user = await engine.storage.findUserByLogin(email)
    // findUserByLogin also matches usernames; a reset goes only to the address that was typed.
    if (!user || user.email !== email || user.disabledAt !== null) return null
    if (linkBase === null) {
      warnNoLinkBase(engine, 'reset_password')
      return null
    }
    return composeTokenMail(engine, user, 'reset_password', linkBase)
  })
}

function warnNoLinkBase(engine: Engine, kind: string): void {
  engine.options.logger.warn(
    { mail: kind },
    'mail not sent: appUrl (APP_URL) is not set and the request came from a host that is not trusted for links',
  )
}

/**
 * Consumes a verification token and marks the address verified. The token must still name the
 * user's current address: a link mailed before an email change verifies nothing.
 */
export async function verifyEmail(engine: Engine, token: string): Promise<UserRecord> {
  const now = Date.now()
  const record = await engine.storage.consumeEmailToken(sha256Hex(token), 'verify_email', now)
  const user = record ? await engine.storage.findUserById(record.userId) : null
  if (!record || !user || user.email !== record.email || user.disabledAt !== null) {
    throw new AuthError('invalid_email_token', 'This verification link is invalid, used or expired')
  }
  if (user.emailVerified) return user
  const updated = await engine.storage.updateUser(user.id, { emailVerified: true }, now)
  if (!updated)
    throw new AuthError('invalid_email_token', 'This verification link is invalid, used or expired')
  return updated
}

/**
 * Consumes a reset token, sets the new password, marks the address verified (the link reached it)
 * and revokes every session of the user: whoever held the old password is signed out. A new
 * password that breaks the rules is refused before the token is consumed, so that the link still
 * works for a second try. Returns the user's id and the number of sessions revoked.
 */
export async function resetPassword(
  engine: Engine,
  input: PasswordResetInput,
): Promise<{ userId: string; revoked: number }> {
  const invalid = () => new AuthError('invalid_reset_token', 'This reset link is invalid, used or expired')
  const tokenHash = sha256Hex(input.token)
  // Read, not consumed, to learn whose the link is: the rules need the username and address.
  const pending = await engine.storage.findEmailToken(tokenHash, 'reset_password', Date.now())
  const owner = pending ? await engine.storage.findUserById(pending.userId) : null
  if (!pending || !owner || owner.email !== pending.email || owner.disabledAt !== null) throw invalid()
  await assertPasswordAllowed(engine, {
    password: input.newPassword,
    field: 'newPassword',
    context: { username: owner.username, email: owner.email, reason: 'reset' },
  })
  // Consumed before the costly hash: a right token cannot be used twice while the hash is
  // computed (of parallel requests with one link, exactly one gets here).
  const record = await engine.storage.consumeEmailToken(tokenHash, 'reset_password', Date.now())
  if (!record || record.userId !== owner.id) throw invalid()
  const user = await engine.storage.findUserById(record.userId)
  if (!user || user.email !== record.email || user.disabledAt !== null) throw invalid()
  const passwordHash = await hashPassword(input.newPassword)
  const now = Date.now()
  if (!(await engine.storage.updatePasswordHash(user.id, passwordHash, now))) throw invalid()
  if (!user.emailVerified) await engine.storage.updateUser(user.id, { emailVerified: true }, now)
  const revoked = await engine.storage.revokeUserSessions(user.id, 'password_reset', now)
  // Any other reset link still outstanding must not undo this one.
  await engine.storage.deleteUnusedEmailTokens(user.id, 'reset_password')
  queueSecurityNotice(engine, user, 'password_reset')
  return { userId: user.id, revoked }
}
