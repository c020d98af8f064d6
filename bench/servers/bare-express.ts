import express from 'express'
import { serveBench } from './bench-server.js'

// The baseline: the same route with no check at all.
const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get('/api/protected', (_req, res) => {
  // An id of the length of the others' user ids, so that every server writes as many bytes.
  res.json({ user: '00000000-0000-4000-8000-000000000000' })
})

await serveBench(app, {
  credential: async () => ({ header: 'authorization', value: 'Bearer none' }),
})
