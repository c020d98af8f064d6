import { randomUUID } from 'node:crypto'
import { type Auth, createAuth } from '../../src/auth.js'
import { makeUser } from '../../src/testing/fixtures.js'
import { createAccessToken } from '../../src/tokens/access-token.js'
import { KeyRing } from '../../src/tokens/keys.js'
import { createRefreshToken } from '../../src/tokens/refresh-token.js'

/** A session end far enough away that it caps no token of a bench. */
const DAY_MS = 86_400_000

/** What the in-process micro benches share: an auth on in-memory SQLite, its keys, a token maker. */
export interface MicroAuth {
  auth: Auth
  /** A key ring on the auth's storage (the auth's own is not exported), loaded. */
  keys: KeyRing
  /** A fresh access token of one user, in a new stored session each call. */
  signToken(): Promise<string>
}

/** Opens the auth of a micro bench: no rate limits, plain-http cookies, a throw-away secret. */
export async function createMicroAuth(): Promise<MicroAuth> {
  const auth = await createAuth({
    database: 'sqlite::memory:',
    secret: `micro-${randomUUID()}-${randomUUID()}`,
    rateLimit: false,
    cookieSecure: false,
  })
  const keys = new KeyRing(auth.options, auth.storage)
  await keys.load()
  const user = makeUser({ username: 'micro_user', email: 'micro_user@example.com', emailVerified: true })
  await auth.storage.createUser(user)
  return {
    auth,
    keys,
    async signToken() {
      // A stored session, so that requireAuth's session check (on by default) lets the token in.
      const now = Date.now()
      const session = { id: randomUUID(), expiresAt: now + DAY_MS }
      const refresh = await createRefreshToken(
        keys,
        { userId: user.id, sessionId: session.id, jkt: null },
        now + DAY_MS,
        now,
      )
      await auth.storage.createSession(
        {
          ...session,
          userId: user.id,
          createdAt: now,
          lastUsedAt: now,
          idleExpiresAt: refresh.expiresAt,
          userAgent: 'micro',
          ip: '127.0.0.1',
          revokedAt: null,
          revokedReason: null,
          authTime: now,
          amr: ['pwd'],
          dpopJkt: null,
        },
        {
          jti: refresh.jti,
          tokenHash: refresh.tokenHash,
          sessionId: session.id,
          parentJti: null,
          issuedAt: now,
          expiresAt: refresh.expiresAt,
        },
      )
      return (await createAccessToken(auth.options, keys, user, { ...session, authTime: now, amr: ['pwd'] }))
        .token
    },
  }
}
