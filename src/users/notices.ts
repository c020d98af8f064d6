import type { Engine } from '../engine/engine.js'
import type { SecurityNoticeEvent } from '../mail/mail-templates.js'
import type { UserRecord } from '../storage/storage.js'

/**
 * Queues a security notice to `user`'s address (for an email change: the old address, so the
 * record as it was before). It carries no token and no link, so it can log nobody in; it tells
 * the owner of a change they may not have made.
 */
export function queueSecurityNotice(
  engine: Engine,
  user: Pick<UserRecord, 'username' | 'fullname' | 'email' | 'disabledAt'>,
  event: SecurityNoticeEvent,
  details: { newEmail?: string; factor?: string } = {},
): void {
  if (user.disabledAt !== null) return
  const at = new Date()
  const recipient = { username: user.username, fullname: user.fullname, email: user.email }
  engine.mailer.dispatch('security_notice', async () => {
    const rendered = engine.options.mail.templates.securityNotice({ event, user: recipient, at, ...details })
    return { to: user.email, ...rendered, secrets: [] }
  })
}
