import express from 'express'
import { jwtVerify } from 'jose'
import { serveBench } from './bench-server.js'
import { createPeerCommands, createPeerKeys, PEER_AUDIENCE, PEER_ISSUER } from './peer-tokens.js'

// What a careful user writes by hand: jose, EdDSA, the key imported once, the same checks.
const keys = createPeerKeys('EdDSA')
const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.get('/api/protected', async (req, res) => {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
  try {
    if (!match) throw new Error('missing token')
    const { payload } = await jwtVerify(match[1]!, keys.publicKey, {
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      issuer: PEER_ISSUER,
      audience: PEER_AUDIENCE,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    })
    res.json({ user: payload.sub })
  } catch {
    res.status(401).json({ error: 'invalid_token' })
  }
})

await serveBench(app, createPeerCommands(keys))
