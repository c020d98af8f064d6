import type { z } from 'zod'
import { type FieldError, ValidationError } from '../errors.js'

/** The value at `path` in `input`, or `undefined`. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/**
 * The field problems of a failed parse, in one style: `<field> <what is wrong>`. zod's own words
 * for a missing or mistyped field ("Invalid input: expected string, received undefined") become
 * "is required" and "must be a string", like the rules the schemas spell out ("must be 8 to 128
 * characters"); a field the request may not carry "is not allowed".
 */
export function describeIssues(error: z.ZodError, input: unknown): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const path = issue.path.map(String).join('.')
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const field = path ? `${path}.${key}` : key
        return { path: field, message: `${field} is not allowed` }
      })
    }
    let message = issue.message
    if (issue.code === 'invalid_type') {
      message =
        valueAt(input, issue.path) === undefined
          ? 'is required'
          : `must be ${article(issue.expected)} ${issue.expected}`
    }
    return [{ path, message: path ? `${path} ${message}` : message }]
  })
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a'
}

/** Parses `input` with `schema`, or throws `validation_failed` listing every field at fault. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const body = input === undefined ? {} : input
  const result = schema.safeParse(body)
  if (result.success) return result.data
  throw new ValidationError(describeIssues(result.error, body))
}
