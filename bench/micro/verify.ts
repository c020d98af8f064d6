import {
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'

// Micro bench: what one access-token verification costs with jose, and with node:crypto called
// directly (same work: split, decode header and payload, check the signature, parse the claims).
// Interleaved rounds of ROUND_MS each, median per method. Run: node --import tsx bench/micro/verify.ts
const ROUNDS = Number(process.argv[2] ?? '5')
const ROUND_MS = Number(process.argv[3] ?? '1000')

const claims = {
  iss: 'tokenpair',
  aud: 'tokenpair',
  sub: '2b0f6f59-2b8c-4c3c-9d3b-0a3c9f1e8c11',
  sid: '8f0c4b8e-7c5e-4d55-9b1e-4a3f1c2d3e4f',
  jti: '1c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f',
  username: 'bench_user',
  email: 'bench_user@example.com',
  fullname: 'Bench User',
  roles: ['user'],
  email_verified: true,
}
const iat = Math.floor(Date.now() / 1000)
const ed = generateKeyPairSync('ed25519')
const hs = createSecretKey(Buffer.from('a-secret-of-at-least-thirty-two-characters!!'))
const sign = (alg: 'EdDSA' | 'HS256', key: KeyObject) =>
  new SignJWT({ ...claims, iat, exp: iat + 900 })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: 'k' })
    .sign(key)
const edToken = await sign('EdDSA', ed.privateKey)
const hsToken = await sign('HS256', hs)
const options = { typ: 'at+jwt', issuer: 'tokenpair', audience: 'tokenpair', clockTolerance: 5 }

function decode(token: string): { header: unknown; payload: unknown; data: Buffer; signature: Buffer } {
  const a = token.indexOf('.')
  const b = token.indexOf('.', a + 1)
  return {
    header: JSON.parse(Buffer.from(token.slice(0, a), 'base64url').toString()),
    payload: JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString()),
    data: Buffer.from(token.slice(0, b)),
    signature: Buffer.from(token.slice(b + 1), 'base64url'),
  }
}

const methods: Record<string, () => Promise<unknown> | unknown> = {
  'jose EdDSA': () => jwtVerify(edToken, ed.publicKey, { ...options, algorithms: ['EdDSA'] }),
  'node:crypto EdDSA': () => {
    const parts = decode(edToken)
    if (!verify(null, parts.data, ed.publicKey, parts.signature)) throw new Error('bad signature')
    return parts.payload
  },
  'jose HS256': () => jwtVerify(hsToken, hs, { ...options, algorithms: ['HS256'] }),
  'node:crypto HS256': () => {
    const parts = decode(hsToken)
    const expected = createHmac('sha256', hs).update(parts.data).digest()
    if (expected.length !== parts.signature.length || !timingSafeEqual(expected, parts.signature))
      throw new Error('bad signature')
    return parts.payload
  },
}

const perSecond = new Map<string, number[]>()
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(methods)) {
    let n = 0
    const start = performance.now()
    while (performance.now() - start < ROUND_MS) {
      for (let i = 0; i < 100; i++) await run()
      n += 100
    }
    const list = perSecond.get(name) ?? []
    list.push(n / ((performance.now() - start) / 1000))
    perSecond.set(name, list)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const [name, list] of perSecond) {
  process.stdout.write(
    `${name.padEnd(20)} ${median(list).toFixed(0).padStart(8)} /s (median of ${list.length})\n`,
  )
}
