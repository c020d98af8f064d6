import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RequestHandler, Router } from 'express'

/**
 * The demo page's policy: scripts, styles and requests from this origin only, no inline code, no
 * frames, no plugins. Set on each response here so that the page stays locked down whatever
 * headers the rest of the app adds or omits.
 */
export const DEMO_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const here = dirname(fileURLToPath(import.meta.url))
const runningFromSources = fileURLToPath(import.meta.url).endsWith('.ts')
/** `web/` sits two levels above both `src/server/` and `dist/server/`. */
const WEB_DIR = join(here, '..', '..', 'web')

/** The demo's files, by URL path. The mail links (docs/email.md) land on the same page. */
const DEMO_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/reset-password': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/verify-email': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  '/factors.js': { file: 'factors.js', type: 'text/javascript; charset=utf-8' },
  '/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
}

let bundle: Promise<string> | null = null

/** Bundles the client's sources in memory (tests and `npm run dev`, where no build exists). */
async function bundleClientSources(entry: string): Promise<string> {
  // esbuild is a devDependency: imported only when there is no built bundle to serve.
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

/**
 * The browser build of `tokenpair/client`: `dist/browser/tokenpair-client.js` when the package is
 * built, else the sources bundled on first use.
 */
export function loadClientBundle(): Promise<string> {
  bundle ??= (async () => {
    if (!runningFromSources) {
      try {
        return await readFile(join(here, '..', 'browser', 'tokenpair-client.js'), 'utf8')
      } catch {
        // Built with tsc alone: fall back to the sources, which a checkout has.
      }
      return bundleClientSources(join(here, '..', '..', 'src', 'client', 'index.ts'))
    }
    return bundleClientSources(join(here, '..', 'client', 'index.ts'))
  })()
  bundle.catch(() => {
    bundle = null
  })
  return bundle
}

/**
 * `GET /tokenpair-client.js`: the client as one ES module exporting `createClient`, for pages
 * without a bundler (`<script type="module">` or `import('/tokenpair-client.js')`).
 */
export function clientScriptHandler(): RequestHandler {
  return async function clientScript(_req, res, next) {
    let code: string
    try {
      code = await loadClientBundle()
    } catch (error) {
      next(error)
      return
    }
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8')
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    // Public code: any origin may load it as a module (which needs CORS).
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin')
    res.send(code)
  }
}

/** The paths that serve the pages the mail links open, and what those pages load. */
const MAIL_PAGE_PATHS = new Set(['/reset-password', '/verify-email', '/demo.js', '/factors.js', '/demo.css'])

/**
 * The demo page (`/`, `/reset-password`, `/verify-email`) and its script and style sheet. With
 * `mailPagesOnly`, only what the mail links need: `/verify-email` and `/reset-password` (the
 * demo's page, which completes the link and offers to log in), their script and style sheet, and
 * the client at `/tokenpair-client.js` (`auth.pages()`).
 */
export function createDemoPageRouter(options: { mailPagesOnly?: boolean } = {}): Router {
  const router = Router()
  if (options.mailPagesOnly === true) router.get('/tokenpair-client.js', clientScriptHandler())
  for (const [path, { file, type }] of Object.entries(DEMO_FILES)) {
    if (options.mailPagesOnly === true && !MAIL_PAGE_PATHS.has(path)) continue
    router.get(path, async function demoFile(_req, res, next) {
      let body: Buffer
      try {
        body = await readFile(join(WEB_DIR, file))
      } catch (error) {
        next(error)
        return
      }
      res.setHeader('Content-Type', type)
      res.setHeader('Content-Security-Policy', DEMO_PAGE_CSP)
      res.setHeader('X-Content-Type-Options', 'nosniff')
      res.setHeader('X-Frame-Options', 'DENY')
      // Mail links carry a token in the query: never pass the URL on to another site.
      res.setHeader('Referrer-Policy', 'no-referrer')
      res.setHeader('Cache-Control', 'no-cache')
      res.send(body)
    })
  }
  return router
}
