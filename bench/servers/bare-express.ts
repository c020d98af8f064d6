import express from 'express'
import { serveBench } from './bench-server.js'

// The baseline: the same route with no check at all.
const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get('/api/protected', (_req, res) => {
  res.json({ user: 'anonymous' })
})

await serveBench(app, {
  credential: async () => ({ header: 'authorization', value: 'Bearer none' }),
})
