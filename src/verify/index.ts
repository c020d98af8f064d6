export { AuthError, type ErrorCode } from '../errors.js'
export type { RequestAuth, RequireAuthOptions } from '../express/require-auth.js'
export type { AccessTokenClaims } from '../tokens/claims.js'
export type { ClaimsWith, CustomClaims, NoClaims } from '../tokens/custom-claims.js'
export {
  createVerifier,
  VERIFIER_ALGORITHMS,
  type Verifier,
  type VerifierAlgorithm,
  type VerifierOptions,
} from './verifier.js'
