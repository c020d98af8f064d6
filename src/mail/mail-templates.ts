/**
 * The mails tokenpair sends, as small functions from a context to a subject and two bodies. Replace
 * any of them with the `mail.templates` option of `createAuth`.
 */

/** What a template gets. */
export interface MailTemplateContext {
  /** The single-use link to put in the mail (`APP_URL/verify-email?token=…` or `…/reset-password?token=…`). */
  link: string
  /** The recipient. */
  user: { username: string; fullname: string; email: string }
  /** How long the link stays valid, in words: `24 hours`, `1 hour`, `90 minutes`. */
  validFor: string
  /** When the link stops working. */
  expiresAt: Date
}

/** A mail ready to send: subject, plain text and HTML. */
export interface RenderedMail {
  subject: string
  text: string
  /** HTML body. Escape every value you insert (see {@link escapeHTML}). */
  html: string
}

/** One template. */
export type MailTemplate = (context: MailTemplateContext) => RenderedMail

/** The changes a security notice tells the account's owner about. */
export type SecurityNoticeEvent =
  | 'password_changed'
  | 'password_reset'
  | 'email_changed'
  | 'factor_added'
  | 'factor_removed'

/** What a security-notice template gets. A notice carries no token and no link. */
export interface SecurityNoticeContext {
  /** What changed. */
  event: SecurityNoticeEvent
  /** The recipient: for `email_changed`, the account as it was (the notice goes to the old address). */
  user: { username: string; fullname: string; email: string }
  /** When it changed. */
  at: Date
  /** For `email_changed`: the new address. */
  newEmail?: string
  /** For `factor_added` and `factor_removed`: which, in words ("an authenticator app", "a passkey"). */
  factor?: string
}

/** A security-notice template. */
export type SecurityNoticeTemplate = (context: SecurityNoticeContext) => RenderedMail

/** Every mail tokenpair sends. */
export interface MailTemplates {
  /** Sent on registration, on `POST /auth/email/verify/request` and on an email change. */
  verifyEmail: MailTemplate
  /** Sent on `POST /auth/password/reset/request` for an address that exists. */
  resetPassword: MailTemplate
  /**
   * Sent after a password change or reset (to the account's address) and an email change (to the
   * old address), so that the owner learns of a change they did not make.
   */
  securityNotice: SecurityNoticeTemplate
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes text for HTML content and attribute values: user-chosen names go into mails, and a
 * `fullname` of `<a href=…>` must stay text.
 *
 * @example
 * ```ts
 * escapeHTML('<b>Ann</b>') // '&lt;b&gt;Ann&lt;/b&gt;'
 * ```
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
}

/** One mail of tokenpair's plain layout: a title, a greeting, a paragraph, a link or none, a footer. */
function renderMail(parts: {
  subject: string
  greeting: string
  paragraph: string
  action: { link: string; label: string } | null
  footer: string
}): RenderedMail {
  const { subject, greeting, paragraph, action, footer } = parts
  const text = [greeting, paragraph, ...(action ? [action.link] : []), footer].join('\n\n')
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    `<h1 style="font-size: 1.2em">${escapeHTML(subject)}</h1>`,
    `<p>${escapeHTML(greeting)}</p>`,
    `<p>${escapeHTML(paragraph)}</p>`,
    ...(action ? [`<p><a href="${escapeHTML(action.link)}">${escapeHTML(action.label)}</a></p>`] : []),
    `<p style="color: #666">${escapeHTML(footer)}</p>`,
    '</body></html>',
  ].join('\n')
  return { subject, text: `${text}\n`, html }
}

/**
 * The default verification mail.
 *
 * @example
 * ```ts
 * const mail = verifyEmailTemplate({ link, user, validFor: '24 hours', expiresAt })
 * ```
 */
export const verifyEmailTemplate: MailTemplate = ({ link, user, validFor }) =>
  renderMail({
    subject: 'Confirm your email address',
    greeting: `Hello ${user.fullname},`,
    paragraph: `Please confirm that ${user.email} is your address by opening this link within ${validFor}:`,
    action: { link, label: 'Confirm my address' },
    footer: 'If you did not create this account or change its address, ignore this mail.',
  })

/**
 * The default password-reset mail.
 *
 * @example
 * ```ts
 * const mail = resetPasswordTemplate({ link, user, validFor: '1 hour', expiresAt })
 * ```
 */
export const resetPasswordTemplate: MailTemplate = ({ link, user, validFor }) =>
  renderMail({
    subject: 'Reset your password',
    greeting: `Hello ${user.fullname},`,
    paragraph: `Someone asked to reset the password of the account ${user.username}. To choose a new password, open this link within ${validFor}:`,
    action: { link, label: 'Choose a new password' },
    footer:
      'If you did not ask for this, ignore this mail: your password stays as it is. Resetting it signs out every session.',
  })

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

const NOTICES: Record<SecurityNoticeEvent, { subject: string; what: (c: SecurityNoticeContext) => string }> =
  {
    password_changed: {
      subject: 'Your password was changed',
      what: ({ user }) =>
        `The password of the account ${user.username} was changed; its other sessions were signed out.`,
    },
    password_reset: {
      subject: 'Your password was reset',
      what: ({ user }) =>
        `The password of the account ${user.username} was reset with a link mailed to this address; every session was signed out.`,
    },
    email_changed: {
      subject: 'Your email address was changed',
      what: ({ user, newEmail }) =>
        `The address of the account ${user.username} was changed from ${user.email} to ${newEmail ?? 'another address'}. This address will get no more mail for it.`,
    },
    factor_added: {
      subject: 'A sign-in method was added to your account',
      what: ({ user, factor }) =>
        `${capitalise(factor ?? 'a sign-in method')} was added to the account ${user.username}.`,
    },
    factor_removed: {
      subject: 'A sign-in method was removed from your account',
      what: ({ user, factor }) =>
        `${capitalise(factor ?? 'a sign-in method')} was removed from the account ${user.username}.`,
    },
  }

/**
 * The default security notice: what changed and when, and what to do if it was not the owner. It
 * holds no link: a mail that says "your password changed" is what a phisher would send, so it
 * asks for nothing to be clicked.
 *
 * @example
 * ```ts
 * const mail = securityNoticeTemplate({ event: 'password_changed', user, at: new Date() })
 * ```
 */
export const securityNoticeTemplate: SecurityNoticeTemplate = (context) => {
  const notice = NOTICES[context.event]
  return renderMail({
    subject: notice.subject,
    greeting: `Hello ${context.user.fullname},`,
    paragraph: `${notice.what(context)} (${context.at.toISOString()})`,
    action: null,
    footer:
      'If this was you, there is nothing to do. If it was not, reset your password from the sign-in page at once and review your sessions.',
  })
}

/** The default templates. */
export const DEFAULT_MAIL_TEMPLATES: Readonly<MailTemplates> = Object.freeze({
  verifyEmail: verifyEmailTemplate,
  resetPassword: resetPasswordTemplate,
  securityNotice: securityNoticeTemplate,
})

/** A duration in words, for mails: `24 hours`, `1 hour`, `90 minutes`, `45 seconds`. */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ]
  for (const [size, name] of units) {
    // Days only when whole; 24 h reads better as "24 hours" than "1 day" in a mail about a link.
    if (name === 'day' && ms % size !== 0) continue
    if (name === 'day' && ms / size < 2) continue
    if (ms >= size && ms % size === 0) {
      const n = ms / size
      return `${n} ${name}${n === 1 ? '' : 's'}`
    }
  }
  const seconds = Math.max(1, Math.round(ms / 1000))
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}
