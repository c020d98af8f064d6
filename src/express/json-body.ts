import express, { type RequestHandler } from 'express'
import { AuthError } from '../errors.js'

/** Largest request body accepted (docs/api.md). */
export const MAX_BODY_BYTES = 16 * 1024

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const length = headers['content-length']
  return length !== undefined && length !== '0'
}

function isJSON(contentType: string | undefined): boolean {
  if (!contentType) return false
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

/**
 * Parses JSON bodies: a body that is not `application/json` answers `415`, one over 16 KiB `413`,
 * one that does not parse `400 malformed_json`. A request without a body passes with `req.body`
 * undefined, and validation then names the missing fields.
 */
export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true })
  return function jsonBody(req, res, next) {
    if (!BODY_METHODS.has(req.method) || !hasBody(req.headers)) {
      next()
      return
    }
    if (!isJSON(req.headers['content-type'])) {
      next(new AuthError('unsupported_media_type', 'Request body must be application/json'))
      return
    }
    parse(req, res, (error?: unknown) => {
      if (!error) {
        next()
        return
      }
      const status = (error as { status?: number }).status
      if (status === 413) next(new AuthError('payload_too_large', 'Request body is larger than 16 KiB'))
      else if (status === 415)
        next(new AuthError('unsupported_media_type', 'Unsupported body encoding or charset'))
      else next(new AuthError('malformed_json', 'Request body is not valid JSON'))
    })
  }
}
