import { Secret, TOTP } from 'otpauth'
import { afterEach, beforeEach, vi } from 'vitest'
import { registerBearer, request } from './http.js'

/** The code an authenticator app would show for `secret` (base32) at `at` (default now). */
export function totpCode(secret: string, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  })
}

/** A registered user (bearer mode) with TOTP on: its secret and recovery codes. */
export async function registerWithTOTP(url: string) {
  const user = await registerBearer(url)
  const headers = { authorization: `Bearer ${user.accessToken}` }
  const { secret, recoveryCodes } = await turnOnTOTP(url, headers, { currentPassword: user.password })
  return { ...user, headers, secret, recoveryCodes }
}

/** Logs in with the password and returns the ticket of the `mfa_required` answer. */
export async function loginForTicket(url: string, user: { username: string; password: string }) {
  const res = await request<{ mfaToken: string; methods: string[] }>(`${url}/auth/login`, {
    body: { login: user.username, password: user.password },
    headers: { 'x-auth-mode': 'bearer' },
  })
  if (res.status !== 401 || res.body.code !== 'mfa_required') {
    throw new Error(`expected mfa_required: ${res.status} ${JSON.stringify(res.body)}`)
  }
  return res.body.data.mfaToken
}

/**
 * Turns TOTP on for the session behind `headers`, with `reauthentication` (none for an account
 * without a password: its recent login stands in). Returns the secret and the recovery codes.
 */
export async function turnOnTOTP(
  url: string,
  headers: Record<string, string>,
  reauthentication: { currentPassword?: string } = {},
) {
  const setup = await request<{ secret: string }>(`${url}/auth/mfa/totp/setup`, {
    body: reauthentication,
    headers,
  })
  if (setup.status !== 200) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`)
  const secret = setup.body.data.secret
  const confirm = await request<{ recoveryCodes: string[] }>(`${url}/auth/mfa/totp/confirm`, {
    body: { code: totpCode(secret) },
    headers,
  })
  if (confirm.status !== 200)
    throw new Error(`confirm failed: ${confirm.status} ${JSON.stringify(confirm.body)}`)
  return { secret, recoveryCodes: confirm.body.data.recoveryCodes }
}

/** The TOTP time step of the server: 30 seconds. */
export const TOTP_STEP = 30_000

/**
 * Fakes `Date` for each test of the calling file, from one second into a TOTP step (so that "the
 * next step" is always a whole step away); `start` is that instant in the running test.
 */
export function fakeTOTPClock(): { readonly start: number } {
  const clock = { start: 0 }
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    clock.start = Math.floor(Date.now() / TOTP_STEP) * TOTP_STEP + 1000
    vi.setSystemTime(clock.start)
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  return clock
}
