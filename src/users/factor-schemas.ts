import { z } from 'zod'
import { currentPasswordSchema } from './user-schemas.js'

/* The request bodies of the second-factor and passkey routes (the route tables validate with these
 * and the OpenAPI document describes them). */

/** A TOTP code (six digits; spaces allowed) or, where the route says so, a recovery code. */
const code = z.string().trim().min(1, 'is required').max(64, 'is too long')

/** A body that only carries the re-authentication. */
export const reauthenticationSchema = z.object({ currentPassword: currentPasswordSchema.optional() })
export type ReauthenticationInput = z.infer<typeof reauthenticationSchema>

/** `POST /mfa/totp/confirm`. */
export const totpConfirmSchema = z.object({ code })
export type TOTPConfirmInput = z.infer<typeof totpConfirmSchema>

/** `POST /mfa/totp/disable`: the re-authentication and a TOTP or recovery code. */
export const totpDisableSchema = z.object({ currentPassword: currentPasswordSchema.optional(), code })
export type TOTPDisableInput = z.infer<typeof totpDisableSchema>

/** `POST /mfa/verify`: the ticket of `mfa_required` and either `code` (TOTP) or `recoveryCode`. */
export const mfaVerifySchema = z
  .object({
    mfaToken: z.string().min(1, 'is required').max(128, 'is too long'),
    code: code.optional(),
    recoveryCode: code.optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.code === undefined) === (body.recoveryCode === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'give either code or recoveryCode' })
    }
  })
export type MFAVerifyInput = z.infer<typeof mfaVerifySchema>

const passkeyName = z
  .string()
  .trim()
  .min(1, 'must be 1 to 100 characters')
  .max(100, 'must be 1 to 100 characters')

/** A WebAuthn response as `@simplewebauthn/browser` produces it; its inside is checked by the verifier. */
const webauthnResponse = z.looseObject({
  id: z.string().min(1).max(2048),
  rawId: z.string().min(1).max(2048),
  type: z.literal('public-key'),
  response: z.looseObject({}),
})

/** `POST /passkeys/register`. */
export const passkeyRegisterSchema = z.object({ response: webauthnResponse, name: passkeyName.optional() })
export type PasskeyRegisterInput = z.infer<typeof passkeyRegisterSchema>

/** `PATCH /passkeys/:id`. */
export const passkeyRenameSchema = z.object({ name: passkeyName })
export type PasskeyRenameInput = z.infer<typeof passkeyRenameSchema>

/** `POST /passkeys/login`. */
export const passkeyLoginSchema = z.object({
  challengeId: z.string().min(1, 'is required').max(128, 'is too long'),
  response: webauthnResponse,
})
export type PasskeyLoginInput = z.infer<typeof passkeyLoginSchema>
