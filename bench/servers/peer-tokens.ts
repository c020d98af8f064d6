import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { BenchCommands, BenchCredential } from './bench-server.js'

/** A key pair for the peers: ES256 (express-jwt and passport-jwt cannot do EdDSA) or EdDSA. */
export interface PeerKeys {
  alg: 'ES256' | 'EdDSA'
  privateKey: KeyObject
  publicKey: KeyObject
}

/** Creates the key pair a peer server signs and verifies with. */
export function createPeerKeys(alg: PeerKeys['alg']): PeerKeys {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  return { alg, ...pair }
}

/** Issuer and audience every peer checks, as tokenpair does. */
export const PEER_ISSUER = 'bench-issuer'
export const PEER_AUDIENCE = 'bench-audience'

/** A token with the same claims as a tokenpair access token, so that sizes match. */
export async function signPeerToken(keys: PeerKeys): Promise<string> {
  const iat = Math.floor(Date.now() / 1000)
  return new SignJWT({
    sid: randomUUID(),
    jti: randomUUID(),
    username: 'bench_user',
    email: 'bench_user@example.com',
    fullname: 'Bench User',
    roles: ['user'],
    email_verified: true,
  })
    .setProtectedHeader({ alg: keys.alg, typ: 'at+jwt', kid: 'bench' })
    .setIssuer(PEER_ISSUER)
    .setAudience(PEER_AUDIENCE)
    .setSubject(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .sign(keys.privateKey)
}

/** The commands of a bearer-token peer. */
export function createPeerCommands(keys: PeerKeys): BenchCommands {
  const bearer = async (): Promise<BenchCredential> => ({
    header: 'authorization',
    value: `Bearer ${await signPeerToken(keys)}`,
  })
  return {
    credential: bearer,
    async credentialPool(count) {
      const pool: BenchCredential[] = []
      for (let i = 0; i < count; i++) pool.push(await bearer())
      return pool
    },
  }
}
