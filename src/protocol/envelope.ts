import { z } from 'zod'
import { ERROR_CODES } from './error-codes.js'

/* The envelope of every answer but the JWK Set, the metrics and the OpenAPI document (the
 * reference design's `ApiResponse` and `ApiError`). */

const statusCode = z.int().min(100).max(599)

/** A problem with one field of a request body, as listed in `errors` of a `validation_failed` answer. */
export const fieldErrorSchema = z.object({
  /** Dotted path of the field, e.g. `email`. */
  path: z.string(),
  /** What is wrong with it, for people. */
  message: z.string(),
})
/** A problem with one field of a request body, as listed in `errors` of a `validation_failed` answer. */
export type FieldError = z.infer<typeof fieldErrorSchema>

/** The fields of a success envelope whose `data` is described by `T`. */
export type SuccessEnvelopeShape<T extends z.ZodType> = {
  statusCode: typeof statusCode
  data: T
  message: z.ZodString
  success: z.ZodLiteral<true>
}

/**
 * The success envelope around `data`.
 *
 * @example
 * ```ts
 * const meAnswer = successEnvelopeSchema(publicUserSchema)
 * ```
 */
export function successEnvelopeSchema<T extends z.ZodType>(data: T): z.ZodObject<SuccessEnvelopeShape<T>> {
  return z.object({ statusCode, data, message: z.string(), success: z.literal(true) })
}

/** A success answer (the reference design's `ApiResponse`). */
export type SuccessEnvelope<T> = z.output<z.ZodObject<SuccessEnvelopeShape<z.ZodType<T>>>>

/**
 * `data` of a `401 mfa_required` answer, the one error whose `data` is not `null`: the login ticket
 * that `POST /auth/mfa/verify` takes with a code, and the kinds of code it accepts.
 */
export const mfaChallengeSchema = z.object({
  /** Opaque; lives 5 minutes and allows 5 wrong codes. */
  mfaToken: z.string(),
  methods: z.array(z.enum(['totp', 'recovery_code'])),
})
/** `data` of a `401 mfa_required` answer. */
export type MFAChallenge = z.infer<typeof mfaChallengeSchema>

/** An error answer (the reference design's `ApiError`): its stable `code`, and field problems in `errors`. */
export const errorEnvelopeSchema = z.object({
  statusCode,
  /** `null`, except for `mfa_required` (its {@link mfaChallengeSchema}). */
  data: mfaChallengeSchema.nullable(),
  /** For people; may change. */
  message: z.string(),
  success: z.literal(false),
  /** Stable and machine-readable. */
  code: z.enum(ERROR_CODES),
  /** Field problems of `validation_failed`; empty otherwise. */
  errors: z.array(fieldErrorSchema),
})
/** An error answer (the reference design's `ApiError`), with its stable `code`. */
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>
