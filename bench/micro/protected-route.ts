import type { AddressInfo } from 'node:net'
import express from 'express'
import { runLoad } from '../load.js'
import { createMicroAuth } from './micro-auth.js'

// The same Express app with a bare route and a requireAuth route, loaded in turn from this very
// process: a quick A/B of what requireAuth adds with a reused token, and a process to profile
// (`node --cpu-prof --import tsx bench/micro/protected-route.ts`). The numbers halve against
// the multi-process bench, since autocannon shares the process; only the ratio means anything.
const ROUNDS = Number(process.argv[2] ?? '3')
const SECONDS = Number(process.argv[3] ?? '3')

const { auth, signToken } = await createMicroAuth()
const token = await signToken()

const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get('/bare', (_req, res) => {
  res.json({ user: 'anonymous' })
})
app.get('/api/protected', auth.requireAuth(), (req, res) => {
  res.json({ user: req.auth!.userId })
})
const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
for (let round = 0; round < ROUNDS; round++) {
  for (const path of ['/bare', '/api/protected']) {
    const result = await runLoad({
      url,
      connections: 50,
      duration: SECONDS,
      requests: [{ method: 'GET', path, headers: { authorization: `Bearer ${token}` } }],
    })
    process.stdout.write(
      `${path.padEnd(16)} ${result.perSecond.toFixed(0).padStart(7)}/s failed ${result.failed}\n`,
    )
  }
}
server.close()
await auth.close()
