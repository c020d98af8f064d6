import { ConfigError } from '../errors.js'

/** Which optional peer dependency a feature needs, and how to get it. */
export interface OptionalPeer {
  /** The package's name, e.g. `pg`. */
  name: string
  /** The setting that asked for it, e.g. `DATABASE_URL`: the error names it. */
  setting: string
  /** The command that installs it, e.g. `npm install pg@8`. */
  install: string
  /** What needs it, for the message (`PostgreSQL needs the pg package`). Default: nothing. */
  usedBy?: string
}

/**
 * Loads an optional peer dependency (a database driver, `ioredis`), or throws a `ConfigError` that
 * names the setting which asked for it and the line that installs it; the import's own error is its
 * `cause` (a package that is there but fails to load, a native module built for another Node, says
 * so there). `load` is the `import()` itself, so that the module keeps its type.
 *
 * @example
 * ```ts
 * const pg = await loadOptionalPeer(() => import('pg'), {
 *   name: 'pg', setting: 'DATABASE_URL', install: 'npm install pg@8', usedBy: 'PostgreSQL',
 * })
 * ```
 */
export async function loadOptionalPeer<T>(load: () => Promise<T>, peer: OptionalPeer): Promise<T> {
  try {
    return await load()
  } catch (error) {
    const who = peer.usedBy === undefined ? '' : `${peer.usedBy} `
    const problem = new ConfigError(peer.setting, `${who}needs the ${peer.name} package: ${peer.install}`)
    // ConfigError takes no options; the cause is set as Error's constructor would set it.
    Object.defineProperty(problem, 'cause', { value: error, writable: true, configurable: true })
    throw problem
  }
}
