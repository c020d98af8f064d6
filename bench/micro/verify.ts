import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify } from 'jose'
import { type Auth, createAuth } from '../../src/auth.js'
import type { AccessTokenAlgorithm } from '../../src/common/algorithms.js'
import { makeUser } from '../../src/testing/fixtures.js'
import { createAccessToken, verifyAccessToken } from '../../src/tokens/access-token.js'
import { KeyRing } from '../../src/tokens/keys.js'
import { createRefreshToken, verifyRefreshToken } from '../../src/tokens/refresh-token.js'
import { createVerifier, type Verifier } from '../../src/verify/index.js'

/** A session end far enough away that it caps no token of a bench. */
const DAY_MS = 86_400_000

// Micro bench: what one token check costs, in µs per token, for each algorithm: tokenpair's
// verifyAccessToken on tokens it has never seen (no cache hit), the JWKS-only verifier on the same
// tokens, a bare jose jwtVerify with the same key and options for comparison, and a refresh token's
// check. Interleaved rounds, median per case.
// Run: node --import tsx bench/micro/verify.ts [rounds] [tokens per round]
const ROUNDS = Number(process.argv[2] ?? '5')
const COUNT = Number(process.argv[3] ?? '1000')
const ALGORITHMS: readonly AccessTokenAlgorithm[] = ['HS256', 'EdDSA', 'ES256', 'RS256']

interface Subject {
  alg: AccessTokenAlgorithm
  auth: Auth
  keys: KeyRing
  verifier: Verifier | null
  signAccess(): Promise<string>
  signRefresh(): Promise<string>
}

async function openSubject(alg: AccessTokenAlgorithm): Promise<Subject> {
  const auth = await createAuth({
    database: 'sqlite::memory:',
    algorithm: alg,
    secret: `micro-${randomUUID()}-${randomUUID()}`,
    ...(alg === 'HS256'
      ? { accessTokenSecret: `access-${randomUUID()}`, refreshTokenSecret: `refresh-${randomUUID()}` }
      : {}),
    rateLimit: false,
    cookieSecure: false,
  })
  const keys = new KeyRing(auth.options, auth.storage)
  await keys.load()
  let verifier: Verifier | null = null
  if (alg !== 'HS256') {
    // The verifier fetches this JWK Set once, then serves every token from its cache.
    const jwks = createServer((_req, res) => res.end(JSON.stringify(keys.jwks)))
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    jwks.unref()
    verifier = createVerifier({
      jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      issuer: auth.options.issuer,
      audience: auth.options.audience,
      algorithms: [alg],
    })
  }
  const user = makeUser({ username: 'micro_user', email: 'micro_user@example.com', emailVerified: true })
  return {
    alg,
    auth,
    keys,
    verifier,
    signAccess: async () =>
      (
        await createAccessToken(auth.options, keys, user, {
          id: randomUUID(),
          expiresAt: Date.now() + DAY_MS,
          authTime: Date.now(),
          amr: ['pwd'],
        })
      ).token,
    signRefresh: async () =>
      (
        await createRefreshToken(
          keys,
          { userId: user.id, sessionId: randomUUID(), jkt: null },
          Date.now() + 86_400_000,
        )
      ).token,
  }
}

type Case = (tokens: string[]) => Promise<void>

function casesOf(s: Subject): Record<string, { kind: 'access' | 'refresh'; run: Case }> {
  const joseOptions = {
    algorithms: [s.alg],
    typ: 'at+jwt',
    issuer: s.auth.options.issuer,
    audience: s.auth.options.audience,
    clockTolerance: 5,
    requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
  }
  const cases: Record<string, { kind: 'access' | 'refresh'; run: Case }> = {
    [`${s.alg} verifyAccessToken`]: {
      kind: 'access',
      run: async (tokens) => {
        for (const token of tokens) await verifyAccessToken(s.auth.options, s.keys, token)
      },
    },
    [`${s.alg} jose jwtVerify`]: {
      kind: 'access',
      run: async (tokens) => {
        for (const token of tokens) await jwtVerify(token, s.keys.current.publicKey, joseOptions)
      },
    },
  }
  const verifier = s.verifier
  if (verifier) {
    cases[`${s.alg} verifier.verify`] = {
      kind: 'access',
      run: async (tokens) => {
        for (const token of tokens) await verifier.verify(token)
      },
    }
  }
  if (s.alg === 'HS256') {
    const options = { clockToleranceMs: s.auth.options.clockToleranceMs }
    cases['HS256 verifyRefreshToken'] = {
      kind: 'refresh',
      run: async (tokens) => {
        for (const token of tokens) await verifyRefreshToken(s.keys, token, options)
      },
    }
  }
  return cases
}

const subjects = await Promise.all(ALGORITHMS.map(openSubject))
// One untimed pass each: the verifier's first JWKS fetch, JIT warm-up.
for (const s of subjects) {
  for (const { kind, run } of Object.values(casesOf(s))) {
    await run([await (kind === 'access' ? s.signAccess() : s.signRefresh())])
  }
}
const perToken = new Map<string, number[]>()
for (let round = 0; round < ROUNDS; round++) {
  for (const s of subjects) {
    for (const [name, { kind, run }] of Object.entries(casesOf(s))) {
      // Fresh tokens each round and case: none is in the verified-token cache.
      const tokens: string[] = []
      for (let i = 0; i < COUNT; i++)
        tokens.push(await (kind === 'access' ? s.signAccess() : s.signRefresh()))
      const start = performance.now()
      await run(tokens)
      const list = perToken.get(name) ?? []
      list.push(((performance.now() - start) * 1000) / COUNT)
      perToken.set(name, list)
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const [name, list] of perToken) {
  process.stdout.write(
    `${name.padEnd(26)} ${median(list).toFixed(1).padStart(7)} µs/token (median of ${list.length})\n`,
  )
}
for (const s of subjects) await s.auth.close()
