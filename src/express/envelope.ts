import type { Response } from 'express'
import { AuthError, MFARequiredError, RateLimitError, ValidationError } from '../errors.js'
import type { ErrorEnvelope, SuccessEnvelope } from '../protocol/envelope.js'
import { challengeFor, ERROR_STATUS } from './error-status.js'

export type { ErrorEnvelope, SuccessEnvelope } from '../protocol/envelope.js'

/** Answers with the success envelope. */
export function sendSuccess<T>(res: Response, statusCode: number, data: T, message: string): void {
  const body: SuccessEnvelope<T> = { statusCode, data, message, success: true }
  res.status(statusCode).json(body)
}

/**
 * Answers with the error envelope of `error`. Anything that is not an {@link AuthError} is a bug:
 * it answers `500 internal_error` with a fixed message, and the caller logs it.
 */
export function sendError(res: Response, error: unknown): void {
  const authError =
    error instanceof AuthError ? error : new AuthError('internal_error', 'Internal server error')
  const statusCode = authError.status ?? ERROR_STATUS[authError.code]
  const challenge = statusCode === 401 ? challengeFor(authError) : null
  if (challenge) res.setHeader('WWW-Authenticate', challenge)
  if (authError instanceof RateLimitError) res.setHeader('Retry-After', String(authError.retryAfterSeconds))
  if (statusCode >= 500) res.setHeader('Cache-Control', 'no-store')
  const body: ErrorEnvelope = {
    statusCode,
    data: authError instanceof MFARequiredError ? authError.challenge : null,
    message: authError.message,
    success: false,
    code: authError.code,
    errors: authError instanceof ValidationError ? [...authError.errors] : [],
  }
  res.status(statusCode).json(body)
}
