import { ConfigError } from '../errors.js'

/** The relying party of passkeys. */
export interface WebAuthnOptions {
  /**
   * `WEBAUTHN_RP_ID`: the domain passkeys are bound to. Default: the host of `appUrl`, else of the
   * request when it is loopback (a passkey bound to a forged `Host` would be worthless anyway, but
   * the server refuses to guess).
   */
  rpId?: string
  /** `WEBAUTHN_RP_NAME`: the name authenticators show. Default `tokenpair`. */
  rpName?: string
}

/** {@link WebAuthnOptions} resolved; `rpId` `null`: from `appUrl`, else a loopback request's host. */
export interface ResolvedWebAuthn {
  readonly rpId: string | null
  readonly rpName: string
}

/** Checks the relying party's settings: a bare domain and a name. */
export function resolveWebAuthn(options: WebAuthnOptions | undefined): ResolvedWebAuthn {
  const rpId = options?.rpId ?? null
  // A bare domain: no scheme, port or path (WebAuthn's RP ID is a registrable domain suffix).
  if (rpId !== null && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(rpId)) {
    throw new ConfigError(
      'webauthn.rpId',
      `must be a domain such as example.com, not ${JSON.stringify(rpId)}`,
    )
  }
  const rpName = options?.rpName ?? 'tokenpair'
  if (rpName === '') throw new ConfigError('webauthn.rpName', 'must not be empty')
  return Object.freeze({ rpId, rpName })
}
