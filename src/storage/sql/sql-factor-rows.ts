import type { Selectable } from 'kysely'
import type * as model from '../factor-storage.js'
import {
  type ChallengesTable,
  type PasskeysTable,
  type TOTPFactorsTable,
  toNullableNumber,
  toNumber,
} from './schema.js'

/* The second factor's rows (schema.ts) as the records of factor-storage.ts. */

export function totpFromRow(row: Selectable<TOTPFactorsTable>): model.TOTPFactorRecord {
  return {
    userId: row.user_id,
    secret: row.secret,
    enabledAt: toNullableNumber(row.enabled_at),
    pendingSecret: row.pending_secret,
    pendingCreatedAt: toNullableNumber(row.pending_created_at),
    lastStep: toNullableNumber(row.last_step),
  }
}

export function passkeyFromRow(row: Selectable<PasskeysTable>): model.PasskeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    counter: toNumber(row.counter),
    transports: JSON.parse(row.transports) as string[],
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: toNumber(row.backed_up) === 1,
    name: row.name,
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNullableNumber(row.last_used_at),
  }
}

export function challengeFromRow(row: Selectable<ChallengesTable>): model.ChallengeRecord {
  return {
    id: row.id,
    purpose: row.purpose as model.ChallengePurpose,
    userId: row.user_id,
    challenge: row.challenge,
    attempts: toNumber(row.attempts),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  }
}
