import { jwtVerify } from 'jose'
import { verifyAccessToken } from '../../src/tokens/access-token.js'
import { createMicroAuth } from './micro-auth.js'

// What tokenpair's verifyAccessToken costs over a bare jose jwtVerify with the same key, on
// tokens never seen before (no cache hit): the strict shape checks, the claim checks and the
// cache insert. Interleaved rounds, median. Run: node --import tsx bench/micro/verify-overhead.ts
const ROUNDS = Number(process.argv[2] ?? '5')
const COUNT = Number(process.argv[3] ?? '2000')

const { auth, keys, signToken } = await createMicroAuth()
const options = {
  algorithms: [auth.options.algorithm],
  typ: 'at+jwt',
  issuer: auth.options.issuer,
  audience: auth.options.audience,
  clockTolerance: 5,
  requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
}
const rates: Record<string, number[]> = { 'jose jwtVerify': [], 'tokenpair verifyAccessToken': [] }
for (let round = 0; round < ROUNDS; round++) {
  const tokens: string[] = []
  for (let i = 0; i < COUNT * 2; i++) tokens.push(await signToken())
  let start = performance.now()
  for (const token of tokens.slice(0, COUNT)) await jwtVerify(token, keys.current.publicKey, options)
  rates['jose jwtVerify']!.push(COUNT / ((performance.now() - start) / 1000))
  start = performance.now()
  for (const token of tokens.slice(COUNT)) await verifyAccessToken(auth.options, keys, token)
  rates['tokenpair verifyAccessToken']!.push(COUNT / ((performance.now() - start) / 1000))
}
for (const [name, list] of Object.entries(rates)) {
  const median = [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
  process.stdout.write(`${name.padEnd(30)} ${median.toFixed(0).padStart(7)}/s (median of ${list.length})\n`)
}
await auth.close()
