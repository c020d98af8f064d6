import { isPlainObject, MAX_METADATA_BYTES, type ResolvedMetadata } from '../config/metadata-options.js'
import { ValidationError } from '../errors.js'
import { validate } from '../internal/validate.js'
import type { UserMetadata } from '../storage/storage.js'

/* Writes of the app's metadata on a user (docs/embedding.md#user-metadata): the app's schema, the
 * size bound, and the fields the user may write. */

/**
 * The metadata to store for `value`: parsed by the app's schema (field problems under
 * `metadata.`), a plain object, at most {@link MAX_METADATA_BYTES} of JSON, and through
 * `JSON.stringify`, so that what is returned is exactly what a read gives back. Throws
 * `validation_failed`.
 */
export function readMetadataWrite(metadata: ResolvedMetadata, value: unknown): UserMetadata {
  const parsed = validate(metadata.schema, { metadata: value }).metadata
  if (!isPlainObject(parsed)) {
    throw new ValidationError([{ path: 'metadata', message: 'metadata must be an object' }])
  }
  const text = JSON.stringify(parsed)
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_METADATA_BYTES) {
    throw new ValidationError([
      {
        path: 'metadata',
        message: `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON, not ${bytes}`,
      },
    ])
  }
  return JSON.parse(text) as UserMetadata
}

/**
 * The user's own write (`PATCH /auth/me`): the fields of `patch` replace those of `current`, and
 * each must be one of `userWritable`; the result is then checked whole, like the app's writes.
 */
export function mergeUserMetadata(
  metadata: ResolvedMetadata,
  current: UserMetadata,
  patch: Record<string, unknown>,
): UserMetadata {
  const refused = Object.keys(patch).filter((key) => !metadata.userWritable.has(key))
  if (refused.length > 0) {
    throw new ValidationError(
      refused.map((key) => ({
        path: `metadata.${key}`,
        message: `metadata.${key} is not writable by the user`,
      })),
    )
  }
  return readMetadataWrite(metadata, { ...current, ...patch })
}

/** The metadata of a new user: the schema's output for `{}`, a fresh copy each time. */
export function initialMetadata(metadata: ResolvedMetadata): UserMetadata {
  return structuredClone(metadata.initial) as UserMetadata
}
