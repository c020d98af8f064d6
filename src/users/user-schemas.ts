import { z } from 'zod'

/* The request bodies of the user routes. The route tables validate requests with these schemas and
 * the OpenAPI document describes them with the same ones, so the two cannot drift. */

/** A username: trimmed, lower-cased, 3 to 30 of a-z, 0-9, `_`, `.` and `-`. */
export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, 'must be 3 to 30 characters')
  .max(30, 'must be 3 to 30 characters')
  .regex(/^[a-z0-9_.-]+$/, 'may hold only a-z, 0-9, _ . and -')

/** An email address: trimmed, lower-cased, at most 254 characters. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be a valid email address'))

/** A full name: trimmed, 1 to 100 characters (also the rule of what `beforeRegister` returns). */
export const fullnameSchema = z
  .string()
  .trim()
  .min(1, 'must be 1 to 100 characters')
  .max(100, 'must be 1 to 100 characters')

/** Taken exactly as sent: no trimming, no composition rules (NIST SP 800-63B). */
export const passwordSchema = z
  .string()
  .min(8, 'must be 8 to 128 characters')
  .max(128, 'must be 8 to 128 characters')

export const registerSchema = z.object({
  username: usernameSchema,
  email: emailSchema,
  fullname: fullnameSchema,
  password: passwordSchema,
})
export type RegisterInput = z.infer<typeof registerSchema>

const loginName = z.string().trim().toLowerCase().min(1, 'is required').max(254, 'is too long')

/** `login` is a username or an email; `username` or `email` are accepted in its place. */
export const loginSchema = z
  .object({
    login: loginName.optional(),
    username: loginName.optional(),
    email: loginName.optional(),
    password: z.string().min(1, 'is required').max(128, 'is too long'),
  })
  .refine((body) => (body.login ?? body.username ?? body.email) !== undefined, {
    path: ['login'],
    message: 'is required',
  })
  .transform((body) => ({ login: (body.login ?? body.username ?? body.email)!, password: body.password }))
export type LoginInput = z.infer<typeof loginSchema>

/** The password that re-authenticates a sensitive change: taken as sent, like any password. */
export const currentPasswordSchema = z.string().min(1, 'is required').max(128, 'is too long')

export const changePasswordSchema = z.object({
  currentPassword: currentPasswordSchema,
  newPassword: passwordSchema,
})
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>

/**
 * `PATCH /me`: `fullname`, `email` and/or `metadata` (the fields of the app's metadata the user may
 * write, checked by the domain against the app's schema), with the rules of registration;
 * `currentPassword` when the address changes. Other fields are refused, not ignored.
 */
export const updateProfileSchema = z
  .strictObject({
    fullname: fullnameSchema.optional(),
    email: emailSchema.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    currentPassword: currentPasswordSchema.optional(),
  })
  .refine((body) => body.fullname !== undefined || body.email !== undefined || body.metadata !== undefined, {
    message: 'give fullname, email and/or metadata',
  })
export type UpdateProfileInput = z.infer<typeof updateProfileSchema>

/** A mail token as it arrives from a link; anything else is refused as an invalid link, not a field error. */
const mailToken = z.string().min(1, 'is required').max(512, 'is too long')

/** `POST /email/verify`. */
export const verifyEmailSchema = z.object({ token: mailToken })
export type VerifyEmailInput = z.infer<typeof verifyEmailSchema>

/** `POST /password/reset/request`. */
export const passwordResetRequestSchema = z.object({ email: emailSchema })
export type PasswordResetRequestInput = z.infer<typeof passwordResetRequestSchema>

/** `POST /password/reset`. */
export const passwordResetSchema = z.object({ token: mailToken, newPassword: passwordSchema })
export type PasswordResetInput = z.infer<typeof passwordResetSchema>

/** `DELETE /identities/:id`: `currentPassword` where the account has a password. No body is fine. */
export const unlinkIdentitySchema = z
  .strictObject({ currentPassword: currentPasswordSchema.optional() })
  .optional()
export type UnlinkIdentityInput = z.infer<typeof unlinkIdentitySchema>
