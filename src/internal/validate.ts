import type { z } from 'zod'
import { ValidationError } from '../errors.js'

/** Parses `input` with `schema`, or throws `validation_failed` listing every field at fault. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const body = input === undefined ? {} : input
  const result = schema.safeParse(body)
  if (result.success) return result.data
  const errors = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    return { path, message: path ? `${path} ${issue.message}` : issue.message }
  })
  throw new ValidationError(errors)
}
