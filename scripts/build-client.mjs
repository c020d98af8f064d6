// Bundles the browser client (src/client) into one ES module, dist/browser/tokenpair-client.js,
// which the server serves at GET /tokenpair-client.js. Runs after `tsc` in `npm run build`.
import { build } from 'esbuild'

const result = await build({
  entryPoints: ['src/client/index.ts'],
  outfile: 'dist/browser/tokenpair-client.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
})
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0
process.stdout.write(`tokenpair-client.js: ${(bytes / 1024).toFixed(1)} KiB\n`)
