import { createHash, randomUUID } from 'node:crypto'
import express from 'express'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createAuth } from '../../src/auth.js'
import { openStorage } from '../../src/storage/open-storage.js'
import type { UserRecord } from '../../src/storage/storage.js'
import { createAccessToken } from '../../src/tokens/access-token.js'
import { KeyRing } from '../../src/tokens/keys.js'
import { createRefreshToken } from '../../src/tokens/refresh-token.js'
import { hashPassword } from '../../src/users/passwords.js'
import { makeMany, serveBench } from './bench-server.js'

// Two roles on one database. `server`: a user's own Express app with tokenpair mounted as
// docs/architecture.md shows it, doing nothing but serve. `minter`: makes the runner's users, sessions and
// token pools with the same functions a login uses, in its own process, so that the server's
// CPU time and memory hold only the work being measured.
const databaseUrl = process.env.BENCH_DATABASE_URL
const secret = process.env.BENCH_SECRET
if (!databaseUrl || !secret) throw new Error('BENCH_DATABASE_URL and BENCH_SECRET are required')

const storage = await openStorage(databaseUrl)
// BENCH_ACCESS_SECRET switches access tokens to HS256 (the reference design's shared secret).
const accessTokenSecret = process.env.BENCH_ACCESS_SECRET
const auth = await createAuth({
  database: storage,
  secret,
  ...(accessTokenSecret ? { algorithm: 'HS256' as const, accessTokenSecret } : {}),
  cookieSecure: false,
  // The bench sends thousands of logins and refreshes a second from one IP: the limits would
  // answer 429 and the run would measure the limiter, not the work. BENCH_REDIS_URL (the
  // several-instance case, which sends no logins) keeps the default limits, counted in Redis: a
  // refresh then costs its Redis round trips as in production.
  rateLimit: process.env.BENCH_REDIS_URL ? { redisUrl: process.env.BENCH_REDIS_URL } : false,
})

if (process.env.BENCH_ROLE === 'minter') await serveMinter()
else await serveApp()

async function serveApp(): Promise<void> {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.get('/api/protected', auth.requireAuth(), (req, res) => {
    res.json({ user: req.auth!.userId })
  })
  app.use('/auth', auth.router())
  app.use(auth.errorHandler())
  await serveBench(app, {})
}

async function serveMinter(): Promise<void> {
  // A second KeyRing on the same storage loads the server's signing key.
  const keys = new KeyRing(auth.options, storage)
  await keys.load()
  const password = 'correct horse battery staple'
  const now = Date.now()
  const tag = `${now.toString(36)}${process.pid.toString(36)}`
  const user: UserRecord = {
    id: randomUUID(),
    username: `bench_${tag}`,
    email: `bench_${tag}@example.com`,
    fullname: 'Bench User',
    passwordHash: await hashPassword(password),
    roles: ['user'],
    emailVerified: true,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
    mfa: { totp: false, passkeys: 0 },
    metadata: {},
  }
  await storage.createUser(user)

  /** What a login stores and issues, without the password check: a session and its first pair. */
  async function openBenchSession(jkt: string | null = null): Promise<{
    sessionId: string
    refreshToken: string
    expiresAt: number
    accessToken: string
  }> {
    const at = Date.now()
    const sessionId = randomUUID()
    const expiresAt = at + auth.options.sessionMaxAgeMs
    const refresh = await createRefreshToken(
      keys,
      { userId: user.id, sessionId, jkt },
      at + auth.options.refreshTokenTtlMs,
      at,
    )
    await storage.createSession(
      {
        id: sessionId,
        userId: user.id,
        createdAt: at,
        lastUsedAt: at,
        expiresAt,
        idleExpiresAt: refresh.expiresAt,
        userAgent: 'bench',
        authTime: at,
        amr: ['pwd'],
        dpopJkt: jkt,
        ip: '127.0.0.1',
        revokedAt: null,
        revokedReason: null,
      },
      {
        jti: refresh.jti,
        tokenHash: refresh.tokenHash,
        sessionId,
        parentJti: null,
        issuedAt: at,
        expiresAt: refresh.expiresAt,
      },
    )
    const access = await createAccessToken(
      auth.options,
      keys,
      user,
      { id: sessionId, expiresAt, jkt, authTime: at, amr: ['pwd'] },
      { now: at },
    )
    return { sessionId, expiresAt, refreshToken: refresh.token, accessToken: access.token }
  }

  await serveBench(null, {
    async credential() {
      const session = await openBenchSession()
      return { header: 'authorization', value: `Bearer ${session.accessToken}` }
    },
    async credentialPool(count) {
      const session = await openBenchSession()
      return makeMany(count, 1, async () => {
        const access = await createAccessToken(auth.options, keys, user, {
          id: session.sessionId,
          expiresAt: session.expiresAt,
          authTime: Date.now(),
          amr: ['pwd'],
        })
        return { header: 'authorization' as const, value: `Bearer ${access.token}` }
      })
    },
    async refreshPool(count) {
      return makeMany(count, 8, async () => (await openBenchSession()).refreshToken)
    },
    async loginBody() {
      return { login: user.username, password }
    },
    // DPoP: one client key; proofs are signed here, ahead, so the runner only sends them.
    async dpopCredentialPool(count) {
      const client = await dpopClient()
      const session = await openBenchSession(client.jkt)
      const url = `${serverUrl()}/api/protected`
      return makeMany(count, 8, async () => ({
        header: 'authorization' as const,
        value: `DPoP ${session.accessToken}`,
        dpop: await client.prove('GET', url, session.accessToken),
      }))
    },
    async dpopRefreshPool(count) {
      const client = await dpopClient()
      const url = `${serverUrl()}/auth/refresh`
      return makeMany(count, 8, async () => ({
        refreshToken: (await openBenchSession(client.jkt)).refreshToken,
        proof: await client.prove('POST', url),
      }))
    },
  })
}

/** The URL of the server this minter makes tokens for (proofs name it in `htu`). */
function serverUrl(): string {
  const url = process.env.BENCH_SERVER_URL
  if (!url) throw new Error('BENCH_SERVER_URL is required for DPoP proofs')
  return url
}

/** A DPoP client: an ES256 key pair, its thumbprint, and proofs signed with jose. */
async function dpopClient(): Promise<{
  jkt: string
  prove(method: string, url: string, accessToken?: string): Promise<string>
}> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  return {
    jkt: await calculateJwkThumbprint(jwk),
    prove: (method, url, accessToken) => {
      const claims: Record<string, unknown> = { jti: randomUUID(), htm: method, htu: url }
      if (accessToken) claims.ath = createHash('sha256').update(accessToken).digest('base64url')
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey)
    },
  }
}
