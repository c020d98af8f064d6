import type { PasswordCheckContext } from '../config/app-options.js'
import type { ResolvedOptions } from '../config/options.js'
import { runBeforeHook } from '../engine/app-hooks.js'
import { ConfigError, ValidationError } from '../errors.js'

/* The rules a new password meets beyond its length (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 5.0
 * 6.2.4 and 6.2.11): not one of the most common passwords, not the account's own name or address,
 * and whatever the app's `validatePassword` adds. docs/security.md states them. */

let commonPasswords: Promise<ReadonlySet<string>> | null = null

/**
 * The common-password list of `@zxcvbn-ts/language-common` (about 49,000 passwords from public
 * breach corpora, most frequent first, all lower-case), read once and only when a password is
 * first checked: the package decompresses its lists when imported, which a process that only
 * verifies tokens should not pay for.
 */
function loadCommonPasswords(): Promise<ReadonlySet<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common']),
  )
  return commonPasswords
}

/**
 * The form in which a password is compared with the list and the account's names: NFKC (so that
 * full-width or composed forms of a listed word are caught), lower case (the list is), outer
 * spaces trimmed. Only the comparison uses it; the password is hashed exactly as sent.
 */
function comparable(text: string): string {
  return text.normalize('NFKC').toLowerCase().trim()
}

/** Whether `password` is on the common-password list, compared case-insensitively. */
export async function isCommonPassword(password: string): Promise<boolean> {
  return (await loadCommonPasswords()).has(comparable(password))
}

/** Where a new password is being set, and the field that carries it, for the field message. */
export interface NewPassword {
  password: string
  /** The request's field, `password` or `newPassword`. */
  field: string
  context: PasswordCheckContext
}

/**
 * Refuses a new password that breaks a rule, with `validation_failed` and a field message that
 * says which: the account's own names first (the cheapest), then the list, then the app's rule.
 */
export async function assertPasswordAllowed(
  engine: { readonly options: Pick<ResolvedOptions, 'validatePassword'> },
  input: NewPassword,
): Promise<void> {
  const { password, field, context } = input
  const refuse = (why: string): never => {
    throw new ValidationError([{ path: field, message: `${field} ${why}` }])
  }
  const candidate = comparable(password)
  const localPart = context.email.slice(0, context.email.lastIndexOf('@'))
  if (candidate === context.username) refuse('must not be the username')
  if (candidate === context.email || candidate === localPart) refuse('must not be the email address')
  if (await isCommonPassword(password)) refuse('is one of the most common passwords; choose another')
  const validate = engine.options.validatePassword
  if (!validate) return
  const verdict = await runBeforeHook('validatePassword', () => validate(password, context))
  if (verdict === undefined || verdict === null) return
  if (typeof verdict !== 'string' || verdict.trim() === '' || verdict.length > 200) {
    throw new ConfigError('validatePassword', 'must return nothing, or a reason of 1 to 200 characters')
  }
  refuse(verdict)
}
