import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * A newcomer's path, as the README tells it: pack a fresh clone (HEAD, not the work tree), install
 * the tarball with Express and the SQLite driver into an empty app, copy the README's package.json
 * and app.js into it, run it, register, and call the protected route. Needs the npm registry (the
 * install fetches tokenpair's dependencies): under CI=true an unreachable registry fails the run,
 * elsewhere the file is skipped with one line.
 */

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const SECRET = 'readme-app-secret-0123456789-abcdefghijklmnop'

/** The first fenced block of `lang` after `marker` in the README. */
function blockAfter(readme: string, marker: string, lang: string): string {
  const at = readme.indexOf(marker)
  if (at === -1) throw new Error(`README has no "${marker}"`)
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(at))
  if (!match) throw new Error(`README has no ${lang} block after "${marker}"`)
  return match[1]!
}

async function registryReachable(): Promise<boolean> {
  try {
    await run('npm', ['ping'], { timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  await new Promise<void>((done) => server.close(() => done()))
  return port
}

async function waitForListening(url: string, app: ChildProcess, output: () => string): Promise<void> {
  for (;;) {
    if (app.exitCode !== null) throw new Error(`app.js exited with ${app.exitCode}:\n${output()}`)
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((done) => setTimeout(done, 100))
    }
  }
}

const reachable = await registryReachable()
if (!reachable && process.env.CI === 'true') throw new Error('the npm registry cannot be reached (CI=true)')
if (!reachable) console.warn('test/package/readme-app.test.ts: skipped, the npm registry cannot be reached')

describe.skipIf(!reachable)('the README example, from a packed tarball of a fresh clone', () => {
  let work: string
  let app: ChildProcess | undefined
  let readme: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tokenpair-readme-'))
    readme = await readFile(join(repo, 'README.md'), 'utf8')
  })

  afterAll(async () => {
    app?.kill('SIGKILL')
    await rm(work, { recursive: true, force: true })
  })

  it('examples/basic.ts is the README app.ts', async () => {
    const example = await readFile(join(repo, 'examples/basic.ts'), 'utf8')
    expect(example.split('\n').slice(2).join('\n')).toBe(blockAfter(readme, '`app.ts`:', 'ts'))
  })

  it('installs, runs, registers and serves the protected route', { timeout: 600_000 }, async () => {
    const clone = join(work, 'clone')
    await run('git', ['clone', '--quiet', repo, clone])
    // The build tools of the clone are the repository's own (devDependencies).
    await symlink(join(repo, 'node_modules'), join(clone, 'node_modules'))
    const { stdout } = await run('npm', ['pack', '--silent'], { cwd: clone, maxBuffer: 1 << 24 })
    const tarball = join(clone, stdout.trim().split('\n').pop()!)

    const appDir = join(work, 'app')
    await run('mkdir', [appDir])
    await writeFile(join(appDir, 'package.json'), blockAfter(readme, 'your `package.json` needs', 'json'))
    await writeFile(join(appDir, 'app.js'), blockAfter(readme, 'in plain JavaScript, `app.js`', 'js'))
    const install = blockAfter(readme, '## In your own Express app', 'sh').split('#')[0]!.trim().split(/\s+/)
    expect(install.slice(0, 3)).toEqual(['npm', 'install', '<source>'])
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...install.slice(3)],
      { cwd: appDir, maxBuffer: 1 << 24 },
    )

    const port = await freePort()
    let output = ''
    // The example's own default database, in the app's folder.
    const { DATABASE_URL: _ignored, ...env } = process.env
    app = spawn('node', ['app.js'], {
      cwd: appDir,
      env: { ...env, AUTH_SECRET: SECRET, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    app.stdout!.on('data', (chunk: Buffer) => (output += chunk))
    app.stderr!.on('data', (chunk: Buffer) => (output += chunk))
    const base = `http://127.0.0.1:${port}`
    await waitForListening(`${base}/api/notes`, app, () => output)

    const registered = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
      body: JSON.stringify({
        username: 'ada',
        email: 'ada@example.com',
        fullname: 'Ada Lovelace',
        password: 'correct horse battery',
      }),
    })
    expect(registered.status).toBe(201)
    const { data } = (await registered.json()) as { data: { accessToken: string; user: { id: string } } }
    const notes = await fetch(`${base}/api/notes`, {
      headers: { authorization: `Bearer ${data.accessToken}` },
    })
    expect(notes.status).toBe(200)
    expect(await notes.json()).toEqual({ owner: data.user.id, notes: [] })
    expect((await fetch(`${base}/api/notes`)).status).toBe(401)
    // The page a verification mail links to ships in the package (web/) and is served.
    const page = await fetch(`${base}/verify-email?token=x`)
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8'])
  })
})
