import { statSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { ConfigError } from '../../errors.js'

/** What {@link checkSQLitePath} found: the file to open, and the folder to create first, if any. */
export interface SQLitePath {
  file: string
  /** A missing folder inside the working folder (`./data`), to create; `null` when it exists. */
  createFolder: string | null
}

function kindOf(path: string): 'file' | 'folder' | 'other' | null {
  try {
    const stat = statSync(path)
    return stat.isDirectory() ? 'folder' : stat.isFile() ? 'file' : 'other'
  } catch {
    return null
  }
}

/**
 * Checks an SQLite database path before anything is created, so that a wrong `DATABASE_URL`
 * stops the start with one line instead of a stack trace or a file in a surprising place: the
 * path must not be a folder, its nearest existing ancestor must be a folder, and a missing folder
 * is created only inside the working folder (`./data`, the default): a missing `/srv/db` is much
 * more likely a typo or an unmounted volume than a wish for a new folder at the root.
 */
export function checkSQLitePath(path: string, setting: string, cwd = process.cwd()): SQLitePath {
  const file = resolve(cwd, path)
  const kind = kindOf(file)
  if (kind === 'folder') throw new ConfigError(setting, `${path} is a folder, not a database file`)
  if (kind === 'other') throw new ConfigError(setting, `${path} is not a regular file`)
  const folder = dirname(file)
  let existing = folder
  while (kindOf(existing) === null && dirname(existing) !== existing) existing = dirname(existing)
  if (kindOf(existing) !== 'folder') {
    throw new ConfigError(
      setting,
      `${relative(cwd, existing) || existing} is not a folder, so ${path} cannot be created`,
    )
  }
  if (existing === folder) return { file, createFolder: null }
  const inside = relative(cwd, folder)
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new ConfigError(
      setting,
      `the folder ${folder} does not exist: create it first (a missing folder is created only inside the working folder)`,
    )
  }
  return { file, createFolder: folder }
}
