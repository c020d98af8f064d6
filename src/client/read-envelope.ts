import type { ErrorEnvelope } from '../protocol/envelope.js'
import { isErrorCode } from '../protocol/error-codes.js'
import { ClientError, type ClientFieldError, MFARequiredError, SessionEndedError } from './errors.js'

/** Answers that end the session: refreshing cannot help. */
const SESSION_END_CODES: ReadonlySet<string> = new Set([
  'invalid_refresh_token',
  'refresh_token_reused',
  'missing_refresh_token',
  'session_revoked',
])

/** An answer's body as it arrives: the envelope's fields, none of them trusted yet. */
type UncheckedEnvelope = { [K in keyof ErrorEnvelope]?: unknown }

function readErrors(value: unknown): ClientFieldError[] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (e): e is ClientFieldError =>
      typeof e === 'object' && e !== null && typeof e.path === 'string' && typeof e.message === 'string',
  )
}

/** Reads the envelope and returns its `data`; throws a {@link ClientError} for an error answer. */
export async function readEnvelopeData<T>(res: Response): Promise<T> {
  let body: UncheckedEnvelope
  try {
    body = (await res.json()) as UncheckedEnvelope
  } catch (cause) {
    throw new ClientError('invalid_response', `Answer ${res.status} is not JSON`, {
      status: res.status,
      cause,
    })
  }
  if (typeof body !== 'object' || body === null) {
    throw new ClientError('invalid_response', `Answer ${res.status} is not an envelope`, {
      status: res.status,
    })
  }
  if (res.ok && body.success === true) return body.data as T
  throw toClientError(res, body)
}

function toClientError(res: Response, body: UncheckedEnvelope): ClientError {
  const code = isErrorCode(body.code) ? body.code : res.status >= 500 ? 'internal_error' : 'invalid_response'
  const message = typeof body.message === 'string' ? body.message : `Request failed with ${res.status}`
  const retryAfter = Number(res.headers.get('retry-after'))
  const options = {
    status: res.status,
    errors: readErrors(body.errors),
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  }
  const data = body.data as { mfaToken?: unknown; methods?: unknown } | null | undefined
  if (code === 'mfa_required' && typeof data?.mfaToken === 'string') {
    const methods = Array.isArray(data.methods) ? data.methods.filter((m) => typeof m === 'string') : []
    return new MFARequiredError({ mfaToken: data.mfaToken, methods }, message)
  }
  return SESSION_END_CODES.has(code)
    ? new SessionEndedError(code, message, options)
    : new ClientError(code, message, options)
}

/** The `code` of a 401 answer, read from a copy so that the caller still gets an unread body. */
export async function peekErrorCode(res: Response): Promise<string | null> {
  if (res.status !== 401) return null
  try {
    const body = (await res.clone().json()) as UncheckedEnvelope
    return typeof body?.code === 'string' ? body.code : null
  } catch {
    return null
  }
}
