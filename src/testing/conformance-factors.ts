import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { ChallengeRecord, PasskeyRecord, Storage } from '../storage/storage.js'
import { type ConformanceSuite, HOUR } from './conformance-suite.js'
import { makeSession, makeToken, makeUser } from './fixtures.js'

/** A passkey row of `userId` with a unique credential id. */
export function makePasskey(userId: string, overrides: Partial<PasskeyRecord> = {}): PasskeyRecord {
  return {
    id: randomUUID(),
    userId,
    credentialId: Buffer.from(randomUUID()).toString('base64url'),
    publicKey: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['internal'],
    deviceType: 'multiDevice',
    backedUp: true,
    name: 'Laptop',
    createdAt: Date.now(),
    lastUsedAt: null,
    ...overrides,
  }
}

function challengeRow(overrides: Partial<ChallengeRecord> = {}): ChallengeRecord {
  const now = Date.now()
  return {
    id: makeToken('x').tokenHash,
    purpose: 'mfa_login',
    userId: null,
    challenge: null,
    attempts: 0,
    createdAt: now,
    expiresAt: now + 5 * 60_000,
    ...overrides,
  }
}

const CODES = Array.from({ length: 10 }, (_, i) => `${String(i).repeat(2)}${'a'.repeat(62)}`)

/** Runs `call` on every storage of `peers` `rounds` times over, all at once. */
function race<T>(peers: Storage[], rounds: number, call: (storage: Storage, i: number) => Promise<T>) {
  return Promise.all(Array.from({ length: rounds }, (_, i) => call(peers[i % peers.length]!, i)))
}

/**
 * The second factor's cases: TOTP factors and their steps, recovery codes, passkeys, challenges, and
 * the races: a code or a step accepted once, a ticket's attempts never exceeded, the last passkey kept.
 */
export function describeFactorConformance(suite: ConformanceSuite): void {
  describe('second factor', () => {
    async function seedUser() {
      const user = makeUser()
      await suite.storage.createUser(user)
      return user
    }

    /** A user with TOTP on, confirmed at `step`, and the recovery codes {@link CODES}. */
    async function seedTOTPUser(step: number) {
      const user = await seedUser()
      await suite.storage.factors.setPendingTOTPSecret(user.id, 'sealed', 1000)
      const pending = { userId: user.id, pendingSecret: 'sealed', step, recoveryCodeHashes: CODES }
      await suite.storage.factors.enableTOTPFactor({ ...pending, now: 1000 })
      return user
    }

    it('keeps a pending TOTP secret apart until it is confirmed, with the recovery codes', async () => {
      const user = await seedUser()
      const factors = suite.storage.factors
      expect(await factors.findTOTPFactor(user.id)).toBeNull()
      await factors.setPendingTOTPSecret(user.id, 'sealed-1', 1000)
      await factors.setPendingTOTPSecret(user.id, 'sealed-2', 2000)
      expect(await factors.findTOTPFactor(user.id)).toEqual({
        userId: user.id,
        secret: null,
        enabledAt: null,
        pendingSecret: 'sealed-2',
        pendingCreatedAt: 2000,
        lastStep: null,
      })
      expect(await factors.acceptTOTPStep(user.id, 5)).toBe(false)
      const enable = { userId: user.id, step: 7, recoveryCodeHashes: CODES, now: 3000 }
      // The setup a newer one replaced cannot be confirmed.
      expect(await factors.enableTOTPFactor({ ...enable, pendingSecret: 'sealed-1' })).toBe(false)
      expect((await suite.storage.findUserById(user.id))?.mfa).toEqual({ totp: false, passkeys: 0 })
      expect(await factors.enableTOTPFactor({ ...enable, pendingSecret: 'sealed-2' })).toBe(true)
      expect(await factors.enableTOTPFactor({ ...enable, pendingSecret: 'sealed-2' })).toBe(false)
      expect(await factors.findTOTPFactor(user.id)).toEqual({
        userId: user.id,
        secret: 'sealed-2',
        enabledAt: 3000,
        pendingSecret: null,
        pendingCreatedAt: null,
        lastStep: 7,
      })
      expect((await suite.storage.findUserById(user.id))?.mfa).toEqual({ totp: true, passkeys: 0 })
      expect(await factors.countRecoveryCodes(user.id)).toBe(10)

      // A new setup while TOTP is on leaves the confirmed secret working; its confirm must come
      // after the last accepted step.
      await factors.setPendingTOTPSecret(user.id, 'sealed-3', 4000)
      expect((await factors.findTOTPFactor(user.id))?.secret).toBe('sealed-2')
      expect(await factors.enableTOTPFactor({ ...enable, pendingSecret: 'sealed-3', step: 7 })).toBe(false)
      expect(await factors.enableTOTPFactor({ ...enable, pendingSecret: 'sealed-3', step: 8 })).toBe(true)
      expect((await factors.findTOTPFactor(user.id))?.secret).toBe('sealed-3')
    })

    it('accepts each TOTP step once and never an earlier one; disabling clears the factor and codes', async () => {
      const user = await seedTOTPUser(10)
      const factors = suite.storage.factors
      expect(await factors.acceptTOTPStep(user.id, 10)).toBe(false)
      expect(await factors.acceptTOTPStep(user.id, 9)).toBe(false)
      expect(await factors.acceptTOTPStep(user.id, 12)).toBe(true)
      expect(await factors.acceptTOTPStep(user.id, 11)).toBe(false)
      expect(await factors.acceptTOTPStep(user.id, 12)).toBe(false)
      expect(await factors.acceptTOTPStep(randomUUID(), 99)).toBe(false)

      expect(await factors.disableTOTPFactor(user.id, 2000)).toBe(true)
      expect(await factors.disableTOTPFactor(user.id, 2000)).toBe(false)
      expect(await factors.findTOTPFactor(user.id)).toBeNull()
      expect(await factors.countRecoveryCodes(user.id)).toBe(0)
      expect(await factors.consumeRecoveryCode(user.id, CODES[0]!, 2000)).toBe(false)
      expect((await suite.storage.findUserById(user.id))?.mfa.totp).toBe(false)
    })

    it('accepts one TOTP step once under parallel calls', async () => {
      const user = await seedTOTPUser(1)
      const peers = await suite.openPeers()
      const results = await race(peers, 16, (s) => s.factors.acceptTOTPStep(user.id, 2))
      expect(results.filter(Boolean)).toHaveLength(1)
    })

    it('uses a recovery code once, also under parallel calls; a new set replaces the old', async () => {
      const user = await seedUser()
      const other = await seedUser()
      const factors = suite.storage.factors
      await factors.replaceRecoveryCodes(user.id, CODES, 1000)
      await factors.replaceRecoveryCodes(other.id, CODES, 1000)
      expect(await factors.consumeRecoveryCode(user.id, CODES[0]!, 2000)).toBe(true)
      expect(await factors.consumeRecoveryCode(user.id, CODES[0]!, 2000)).toBe(false)
      expect(await factors.consumeRecoveryCode(user.id, 'f'.repeat(64), 2000)).toBe(false)
      // Another user's copy of the same hash is theirs alone.
      expect(await factors.countRecoveryCodes(other.id)).toBe(10)
      expect(await factors.countRecoveryCodes(user.id)).toBe(9)

      const peers = await suite.openPeers()
      const results = await race(peers, 16, (s) => s.factors.consumeRecoveryCode(user.id, CODES[1]!, 3000))
      expect(results.filter(Boolean)).toHaveLength(1)

      const fresh = CODES.map((code) => `b${code.slice(1)}`)
      await factors.replaceRecoveryCodes(user.id, fresh, 4000)
      expect(await factors.consumeRecoveryCode(user.id, CODES[2]!, 4000)).toBe(false)
      expect(await factors.consumeRecoveryCode(user.id, fresh[2]!, 4000)).toBe(true)
      expect(await factors.countRecoveryCodes(user.id)).toBe(9)
    })

    it('stores, finds, renames and counts passkeys; a credential id belongs to one user', async () => {
      const user = await seedUser()
      const other = await seedUser()
      const factors = suite.storage.factors
      const first = makePasskey(user.id, { createdAt: 1000 })
      const second = makePasskey(user.id, { createdAt: 2000, name: 'Phone', transports: [] })
      expect(await factors.createPasskey(first)).toBe(true)
      expect(await factors.createPasskey(second)).toBe(true)
      expect(await factors.createPasskey({ ...first, id: randomUUID(), userId: other.id })).toBe(false)
      expect(await factors.createPasskey({ ...first, id: randomUUID() })).toBe(false)
      expect(await factors.listPasskeys(user.id)).toEqual([first, second])
      expect(await factors.listPasskeys(other.id)).toEqual([])
      expect((await suite.storage.findUserById(user.id))?.mfa).toEqual({ totp: false, passkeys: 2 })
      expect((await suite.storage.findUserById(other.id))?.mfa.passkeys).toBe(0)

      expect(await factors.findPasskeyByCredentialId(first.credentialId)).toEqual(first)
      expect(await factors.findPasskeyByCredentialId('bm93aGVyZQ')).toBeNull()
      await factors.recordPasskeyUse(first.id, { counter: 7, backedUp: false, now: 5000 })
      expect(await factors.findPasskeyByCredentialId(first.credentialId)).toEqual({
        ...first,
        counter: 7,
        backedUp: false,
        lastUsedAt: 5000,
      })
      expect(await factors.renamePasskey(first.id, other.id, 'Stolen')).toBe(false)
      expect(await factors.renamePasskey(first.id, user.id, 'Work laptop')).toBe(true)
      expect((await factors.listPasskeys(user.id))[0]?.name).toBe('Work laptop')
    })

    it('deletes a passkey of its owner only, and with keepOne never the last one', async () => {
      const user = await seedUser()
      const other = await seedUser()
      const factors = suite.storage.factors
      const first = makePasskey(user.id, { createdAt: 1000 })
      const second = makePasskey(user.id, { createdAt: 2000 })
      await factors.createPasskey(first)
      await factors.createPasskey(second)
      expect(await factors.deletePasskey(first.id, other.id)).toBe('not_found')
      expect(await factors.deletePasskey(randomUUID(), user.id, { keepOne: true })).toBe('not_found')
      expect(await factors.deletePasskey(first.id, user.id, { keepOne: true })).toBe('deleted')
      expect(await factors.deletePasskey(second.id, user.id, { keepOne: true })).toBe('last_credential')
      expect((await suite.storage.findUserById(user.id))?.mfa.passkeys).toBe(1)
      expect(await factors.deletePasskey(second.id, user.id)).toBe('deleted')
      expect(await factors.listPasskeys(user.id)).toEqual([])
      expect((await suite.storage.findUserById(user.id))?.mfa.passkeys).toBe(0)
    })

    it('keeps one passkey when parallel deletes with keepOne race for the last two', async () => {
      const user = await seedUser()
      const keys = [makePasskey(user.id, { createdAt: 1000 }), makePasskey(user.id, { createdAt: 2000 })]
      for (const key of keys) await suite.storage.factors.createPasskey(key)
      const peers = await suite.openPeers()
      const results = await race(peers, 8, (s, i) =>
        s.factors.deletePasskey(keys[i % 2]!.id, user.id, { keepOne: true }),
      )
      expect(results.filter((r) => r === 'deleted')).toHaveLength(1)
      expect(await suite.storage.factors.listPasskeys(user.id)).toHaveLength(1)
      expect((await suite.storage.findUserById(user.id))?.mfa.passkeys).toBe(1)
    })

    it('uses a challenge once, for its purpose only and before it expires', async () => {
      const factors = suite.storage.factors
      const now = Date.now()
      const ticket = challengeRow({ userId: randomUUID() })
      const webauthn = challengeRow({ purpose: 'passkey_login', challenge: 'Y2hhbGxlbmdl' })
      const expired = challengeRow({ purpose: 'passkey_register', expiresAt: now - 1 })
      for (const c of [ticket, webauthn, expired]) await factors.createChallenge(c)
      expect(await factors.consumeChallenge(webauthn.id, 'passkey_register', now)).toBeNull()
      expect(await factors.consumeChallenge(webauthn.id, 'passkey_login', now)).toEqual(webauthn)
      expect(await factors.consumeChallenge(webauthn.id, 'passkey_login', now)).toBeNull()
      expect(await factors.consumeChallenge(expired.id, 'passkey_register', now)).toBeNull()
      expect(await factors.takeChallengeAttempt(ticket.id, 'mfa_login', now, 5)).toEqual({
        ...ticket,
        attempts: 1,
      })
      expect(await factors.consumeChallenge(ticket.id, 'mfa_login', now)).toEqual({ ...ticket, attempts: 1 })
      expect(await factors.takeChallengeAttempt(ticket.id, 'mfa_login', now, 5)).toBeNull()
      expect(await factors.deleteExpiredChallenges(now)).toBe(1)
    })

    it('lets no more than the allowed attempts of a ticket through under parallel calls', async () => {
      const ticket = challengeRow({ userId: randomUUID() })
      await suite.storage.factors.createChallenge(ticket)
      const now = Date.now()
      const peers = await suite.openPeers()
      const taken = await race(peers, 12, (s) =>
        s.factors.takeChallengeAttempt(ticket.id, 'mfa_login', now, 5),
      )
      expect(taken.filter((t) => t !== null)).toHaveLength(5)
      const consumed = await race(peers, 8, (s) => s.factors.consumeChallenge(ticket.id, 'mfa_login', now))
      expect(consumed.filter((t) => t !== null)).toHaveLength(1)
    })

    it('records a session authenticating again', async () => {
      const user = await seedUser()
      const session = makeSession(user.id, { authTime: 1000, amr: ['pwd'] })
      await suite.storage.createSession(session, makeToken(session.id))
      expect(await suite.storage.findSession(session.id)).toEqual(session)
      const later = Date.now() + HOUR
      expect(
        await suite.storage.factors.updateSessionAuthentication(session.id, later, ['pwd', 'otp', 'mfa']),
      ).toBe(true)
      expect(await suite.storage.findSession(session.id)).toEqual({
        ...session,
        authTime: later,
        amr: ['pwd', 'otp', 'mfa'],
      })
      expect(await suite.storage.factors.updateSessionAuthentication(randomUUID(), later, ['pwd'])).toBe(
        false,
      )
    })
  })
}
