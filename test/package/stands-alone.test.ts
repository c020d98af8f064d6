import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/*
 * The repository stands alone: its docs, comments, help texts and OpenAPI descriptions point at
 * what it contains (docs/api.md is the users' contract), never at specification files that live
 * outside it.
 */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const OUTSIDE = /\bAPI\.md\b|\bDESIGN\.md\b|\.\.\/shared\b/

describe('the repository', () => {
  it('names no file outside itself', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file !== '' && file !== 'package-lock.json' && !/\.(png|ico)$/.test(file))
    const naming = files.filter((file) => OUTSIDE.test(readFileSync(join(repo, file), 'utf8')))
    expect(naming).toEqual([])
  })
})
