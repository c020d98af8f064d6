import { startAuthentication, startRegistration } from '@simplewebauthn/browser'
import type {
  PasskeyEntry,
  PasskeyLoginOptionsData,
  RecoveryCodesData,
  TOTPSetupData,
} from '../protocol/wire-schemas.js'
import type { ClientUser } from './types.js'

/* The second factor and passkeys of the client: TOTP, recovery codes and WebAuthn (through
 * @simplewebauthn/browser, so in browsers only). */

/** How the client's factor calls reach the server. */
export interface FactorTransport {
  /** A call with the session's credentials; resolves to `data`. */
  callSession<T>(method: string, path: string, body?: unknown): Promise<T>
  /** A call that signs in: the token response is applied and the user returned. */
  signIn(path: string, body: unknown): Promise<ClientUser>
  /** A call without credentials; resolves to `data`. */
  callPublic<T>(path: string, body: unknown): Promise<T>
}

/** The re-authentication of a sensitive change: the current password (not needed by accounts without one). */
export interface Reauthentication {
  currentPassword?: string
}

/** TOTP and recovery codes (`client.mfa`). */
export interface MFAApi {
  /** `POST /auth/mfa/totp/setup`: a pending secret, its `otpauth://` URL and QR code (SVG). */
  setupTOTP(input: Reauthentication): Promise<TOTPSetupData>
  /** `POST /auth/mfa/totp/confirm`: TOTP on; resolves to the ten recovery codes, shown this once. */
  confirmTOTP(code: string): Promise<string[]>
  /** `POST /auth/mfa/totp/disable` with a TOTP or recovery code. */
  disableTOTP(input: Reauthentication & { code: string }): Promise<void>
  /** `POST /auth/mfa/recovery-codes`: a new set; the old codes stop working. */
  regenerateRecoveryCodes(input: Reauthentication): Promise<string[]>
}

/** A passkey as the server lists it. */
export type ClientPasskey = PasskeyEntry

/** Passkeys (`client.passkeys`); `register` and `login` need a browser with WebAuthn. */
export interface PasskeysApi {
  /** Creates a passkey in the browser (a resident key) and registers it. */
  register(input: Reauthentication & { name?: string }): Promise<ClientPasskey>
  /** Signs in with a passkey, no name needed; throws `MFARequiredError` when one must follow. */
  login(): Promise<ClientUser>
  /** `GET /auth/passkeys`. */
  list(): Promise<ClientPasskey[]>
  /** `PATCH /auth/passkeys/:id`. */
  rename(id: string, name: string): Promise<ClientPasskey>
  /** `DELETE /auth/passkeys/:id`; `409 last_credential` when it is the only way in. */
  remove(id: string, input?: Reauthentication): Promise<void>
}

/** The {@link MFAApi} over `transport`. */
export function createMFAApi(transport: FactorTransport): MFAApi {
  return {
    setupTOTP: (input) => transport.callSession<TOTPSetupData>('POST', '/mfa/totp/setup', input),
    async confirmTOTP(code) {
      return (await transport.callSession<RecoveryCodesData>('POST', '/mfa/totp/confirm', { code }))
        .recoveryCodes
    },
    async disableTOTP(input) {
      await transport.callSession<null>('POST', '/mfa/totp/disable', input)
    },
    async regenerateRecoveryCodes(input) {
      return (await transport.callSession<RecoveryCodesData>('POST', '/mfa/recovery-codes', input))
        .recoveryCodes
    },
  }
}

/** The {@link PasskeysApi} over `transport`. */
export function createPasskeysApi(transport: FactorTransport): PasskeysApi {
  const one = (id: string) => `/passkeys/${encodeURIComponent(id)}`
  return {
    async register(input) {
      const { name, ...reauthentication } = input
      const optionsJSON = await transport.callSession<Parameters<typeof startRegistration>[0]['optionsJSON']>(
        'POST',
        '/passkeys/register/options',
        reauthentication,
      )
      const response = await startRegistration({ optionsJSON })
      return transport.callSession<ClientPasskey>('POST', '/passkeys/register', {
        response,
        ...(name === undefined ? {} : { name }),
      })
    },
    async login() {
      const { challengeId, options } = await transport.callPublic<PasskeyLoginOptionsData>(
        '/passkeys/login/options',
        {},
      )
      const optionsJSON = options as unknown as Parameters<typeof startAuthentication>[0]['optionsJSON']
      const response = await startAuthentication({ optionsJSON })
      return transport.signIn('/passkeys/login', { challengeId, response })
    },
    list: () => transport.callSession<ClientPasskey[]>('GET', '/passkeys'),
    rename: (id, name) => transport.callSession<ClientPasskey>('PATCH', one(id), { name }),
    async remove(id, input = {}) {
      await transport.callSession<null>('DELETE', one(id), input)
    },
  }
}
