import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
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
