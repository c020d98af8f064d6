import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/*
 * Every runtime dependency is one that the shipped code imports: a dependency nothing uses is
 * code every user installs and every audit must read for nothing (cookie-parser once sat here
 * unused). Optional peers are imported on demand, so they count too.
 */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : []
  })
}

describe('package.json', () => {
  it('lists only dependencies and peers that src/ imports', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
      peerDependencies: Record<string, string>
    }
    const imported = new Set<string>()
    for (const file of sources(join(repo, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:from\s*|import\s*\(\s*)'([^'.][^']*)'/g)) {
        const specifier = match[1]!
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0]!
        imported.add(name)
      }
    }
    const declared = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]
    expect(declared.filter((name) => !imported.has(name))).toEqual([])
  })
})
