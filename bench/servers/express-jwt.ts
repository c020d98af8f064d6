import express, { type ErrorRequestHandler } from 'express'
import { expressjwt, type Request as JWTRequest } from 'express-jwt'
import { serveBench } from './bench-server.js'
import { createPeerCommands, createPeerKeys, PEER_AUDIENCE, PEER_ISSUER } from './peer-tokens.js'

// express-jwt as its README shows it; ES256 because it (jsonwebtoken) cannot do EdDSA.
const keys = createPeerKeys('ES256')
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get(
  '/api/protected',
  expressjwt({ secret: publicPem, algorithms: ['ES256'], issuer: PEER_ISSUER, audience: PEER_AUDIENCE }),
  (req: JWTRequest, res) => {
    res.json({ user: req.auth?.sub })
  },
)
const onError: ErrorRequestHandler = (_error, _req, res, _next) => {
  res.status(401).json({ error: 'invalid_token' })
}
app.use(onError)

await serveBench(app, createPeerCommands(keys))
