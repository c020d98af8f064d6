import { randomBytes } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIN_SECRET_LENGTH } from '../config/options.js'
import { ConfigError } from '../errors.js'

/** Result of {@link loadOrCreateAuthSecret}. */
export interface LoadedSecret {
  secret: string
  /** Whether the file was created just now. */
  created: boolean
  path: string
}

/**
 * Reads `DATA_DIR/auth-secret`, or creates it: 48 random bytes, mode 0600. The file is written
 * whole under a temporary name and then hard-linked into place, which fails if the name exists,
 * so two processes starting together agree on one secret and none reads a half-written file.
 */
export function loadOrCreateAuthSecret(dataDir: string): LoadedSecret {
  const path = join(dataDir, 'auth-secret')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(temporary, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  try {
    linkSync(temporary, path)
    return { secret: readSecret(path), created: true, path }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return { secret: readSecret(path), created: false, path }
  } finally {
    unlinkSync(temporary)
  }
}

/** Where the secret in force came from, for the one line that says so at start. */
export interface AuthSecretSource {
  secret: string
  /** `AUTH_SECRET`, the data folder's file, or a file made just now. */
  from: 'AUTH_SECRET' | 'file' | 'generated'
  /** The file, for `file` and `generated`. */
  path?: string
}

/**
 * The secret of a server or a CLI command: `AUTH_SECRET`, else `DATA_DIR/auth-secret`, else a new
 * one written there, but only for a database that holds no signing keys yet. Keys are sealed with
 * the secret they were made with: a fresh secret beside a database that already has keys could
 * never open them, so that case stops with a line that says what is wrong (`AUTH_SECRET` unset)
 * rather than generating a file and failing later on a key it cannot decrypt.
 */
export async function resolveAuthSecret(
  config: { authSecret: string | null; dataDir: string },
  hasKeys: () => Promise<boolean>,
): Promise<AuthSecretSource> {
  if (config.authSecret !== null) return { secret: config.authSecret, from: 'AUTH_SECRET' }
  const path = join(config.dataDir, 'auth-secret')
  if (existsSync(path)) return { secret: readSecret(path), from: 'file', path }
  if (await hasKeys()) {
    throw new ConfigError(
      'AUTH_SECRET',
      `not set, and ${path} does not exist, but the database already holds signing keys: set AUTH_SECRET to the secret they were made with (or DATA_DIR to the folder that holds it)`,
    )
  }
  const loaded = loadOrCreateAuthSecret(config.dataDir)
  return { secret: loaded.secret, from: loaded.created ? 'generated' : 'file', path: loaded.path }
}

function readSecret(path: string): string {
  const secret = readFileSync(path, 'utf8').trim()
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      'AUTH_SECRET',
      `the file ${path} holds a secret shorter than ${MIN_SECRET_LENGTH} characters`,
    )
  }
  return secret
}
