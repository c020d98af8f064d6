import { z } from 'zod'
import { ConfigError } from '../errors.js'
import type { UserMetadata } from '../storage/storage.js'

/* The `metadata` option: the app's own data on each user, its schema and what the user may write. */

/** The most a user's metadata may take: 4 KiB of JSON (UTF-8 bytes of `JSON.stringify`). */
export const MAX_METADATA_BYTES = 4096

/**
 * The `metadata` option of `createAuth`: the shape of the app's data on each user. `M` is what
 * TypeScript infers from `schema`, and what `auth.users` hands back typed.
 *
 * @example
 * ```ts
 * metadata: {
 *   schema: z.object({ plan: z.enum(['free', 'pro']).default('free'), theme: z.string().max(20).optional() }),
 *   userWritable: ['theme'],
 * }
 * ```
 */
export interface MetadataOptions<M extends UserMetadata = UserMetadata> {
  /**
   * A zod schema of the whole object (zod 4, classic or mini), checked on every write: by the app
   * (`auth.users.update`) and by the user (`PATCH /auth/me`). It must accept `{}`, the metadata of
   * a new user (what it makes of `{}`, defaults included, is what a new user gets), and describe
   * JSON values only: what is stored is the parse's output through `JSON.stringify`. Stored
   * metadata is not checked again when read, so a schema that grows should keep old objects
   * valid. Default: any JSON object.
   */
  schema?: z.core.$ZodType<M>
  /**
   * The top-level fields the user may set through `PATCH /auth/me` (`{ metadata: { theme } }`);
   * any other field there is `400 validation_failed`. Everything in metadata is readable by the
   * user (`GET /auth/me`), writable or not: keep the app's secrets elsewhere. Default: none.
   */
  userWritable?: readonly NoInfer<keyof M & string>[]
}

/** {@link MetadataOptions} checked, with the metadata of a new user worked out. */
export interface ResolvedMetadata {
  /** The schema of one write: `{ metadata: <the app's schema, or any JSON object> }`. */
  readonly schema: z.ZodType<{ metadata: UserMetadata }>
  readonly userWritable: ReadonlySet<string>
  /** The metadata of a new user: `{}` through the schema. */
  readonly initial: Readonly<UserMetadata>
}

const anyJSONObject = z.record(z.string(), z.json())

/** Checks the `metadata` option. Throws a `ConfigError` naming the part at fault. */
export function resolveMetadata(options: MetadataOptions | undefined): ResolvedMetadata {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError('metadata', 'must be an object: { schema?, userWritable? }')
  }
  const app = options?.schema
  if (app !== undefined && (app === null || typeof app !== 'object' || !('_zod' in app))) {
    throw new ConfigError('metadata.schema', 'must be a zod 4 schema')
  }
  const writable = options?.userWritable ?? []
  if (!Array.isArray(writable) || !writable.every((name) => typeof name === 'string' && name !== '')) {
    throw new ConfigError('metadata.userWritable', 'must be a list of field names')
  }
  const schema = z.object({ metadata: (app as z.core.$ZodType<UserMetadata> | undefined) ?? anyJSONObject })
  const first = z.safeParse(schema, { metadata: {} })
  if (!first.success || !isPlainObject(first.data.metadata)) {
    throw new ConfigError(
      'metadata.schema',
      'must accept {}, the metadata of a new user: make its fields optional',
    )
  }
  return Object.freeze({
    schema,
    userWritable: new Set(writable),
    initial: Object.freeze(JSON.parse(JSON.stringify(first.data.metadata)) as UserMetadata),
  })
}

/** Whether `value` is a plain object: what JSON calls an object, not an array or `null`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
