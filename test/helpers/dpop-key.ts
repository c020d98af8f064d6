import { createHash, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/** A DPoP client's key pair, as a test holds it: the private key, the public JWK, its thumbprint. */
export interface TestDPoPKey {
  privateKey: CryptoKey
  jwk: JWK
  jkt: string
}

/** A fresh ES256 key and its RFC 7638 thumbprint. */
export async function makeDPoPKey(): Promise<TestDPoPKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) }
}

/** A sound DPoP proof by `key` for `method` `htu`, with `ath` when it goes with `accessToken`. */
export function dpopProof(
  key: TestDPoPKey,
  method: string,
  htu: string,
  accessToken?: string,
): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: method,
    htu,
    iat: Math.floor(Date.now() / 1000),
  }
  if (accessToken) claims.ath = createHash('sha256').update(accessToken).digest('base64url')
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey)
}
