import express from 'express'
import passport from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import { serveBench } from './bench-server.js'
import { createPeerCommands, createPeerKeys, PEER_AUDIENCE, PEER_ISSUER } from './peer-tokens.js'

// passport-jwt as its README shows it; ES256 because it (jsonwebtoken) cannot do EdDSA.
const keys = createPeerKeys('ES256')
passport.use(
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      algorithms: ['ES256'],
      issuer: PEER_ISSUER,
      audience: PEER_AUDIENCE,
    },
    (payload: { sub: string }, done: (error: unknown, user?: unknown) => void) => {
      done(null, { id: payload.sub })
    },
  ),
)
const app = express()
app.disable('x-powered-by')
app.set('etag', false)
app.use(passport.initialize())
app.get('/api/protected', passport.authenticate('jwt', { session: false }), (req, res) => {
  res.json({ user: (req.user as { id: string }).id })
})

await serveBench(app, createPeerCommands(keys))
