/* The public face of mail: settings, templates and transports. Re-exported from the package root. */
export type { MailOptions } from './mail-options.js'
export {
  DEFAULT_MAIL_TEMPLATES,
  escapeHTML,
  type MailTemplate,
  type MailTemplateContext,
  type MailTemplates,
  type RenderedMail,
  resetPasswordTemplate,
  type SecurityNoticeContext,
  type SecurityNoticeEvent,
  type SecurityNoticeTemplate,
  securityNoticeTemplate,
  verifyEmailTemplate,
} from './mail-templates.js'
export {
  createOutboxTransport,
  createSMTPTransport,
  type MailMessage,
  type MailTransport,
  type SMTPTransportOptions,
} from './mail-transport.js'
