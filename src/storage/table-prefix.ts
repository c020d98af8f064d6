import { ConfigError } from '../errors.js'

/** The prefix of every table (and collection) tokenpair creates, unless told otherwise. */
export const DEFAULT_TABLE_PREFIX = 'tp_'

/**
 * The longest prefix accepted: the longest name tokenpair derives from it (PostgreSQL's
 * `<prefix>refresh_tokens_token_hash_key`, 29 characters after the prefix) then stays under the
 * 63 characters PostgreSQL keeps of an identifier (MySQL keeps 64), so that no two names are
 * cut to the same one.
 */
export const MAX_TABLE_PREFIX_LENGTH = 24

/*
 * Lower-case only: Kysely quotes identifiers, so `App_` would make case-sensitive names on
 * PostgreSQL and names whose case depends on the file system on MySQL (lower_case_table_names).
 */
const TABLE_PREFIX = /^[a-z][a-z0-9_]*$/

/**
 * Checks a table prefix (`tablePrefix`, `TABLE_PREFIX`): a lower-case letter, then lower-case
 * letters, digits and `_`, at most {@link MAX_TABLE_PREFIX_LENGTH} characters. It is spliced into
 * SQL names, so nothing else may pass. Throws a {@link ConfigError} under `setting`.
 *
 * @example
 * ```ts
 * checkTablePrefix('auth_', 'tablePrefix') // 'auth_'
 * ```
 */
export function checkTablePrefix(value: unknown, setting: string): string {
  if (typeof value !== 'string' || !TABLE_PREFIX.test(value)) {
    throw new ConfigError(
      setting,
      'must start with a lower-case letter and hold only lower-case letters, digits and _ (e.g. auth_)',
    )
  }
  if (value.length > MAX_TABLE_PREFIX_LENGTH) {
    throw new ConfigError(setting, `at most ${MAX_TABLE_PREFIX_LENGTH} characters`)
  }
  return value
}
