import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

/** A person at the test provider: the claims its userinfo (and ID token) carry. */
export interface TestAccount {
  sub: string
  email?: string
  email_verified?: boolean
  name?: string
  preferred_username?: string
}

/** A real OpenID provider (oidc-provider, a certified OP) on 127.0.0.1, with one client registered. */
export interface TestOP {
  /** The issuer: `http://127.0.0.1:<port>`. */
  issuer: string
  clientId: string
  clientSecret: string
  /** The person the next authorization signs in as (the interaction logs them in at once). */
  signInAs(account: TestAccount): void
  close(): Promise<void>
}

/**
 * Starts an OP on a free loopback port. The port is taken first, so that the relying party can be
 * configured with the issuer before the client's redirect URIs are known; `register()` then
 * registers them and starts answering. The login and consent steps are one interaction that
 * signs in as the account given to `signInAs` and grants the scopes asked for.
 */
export async function startTestOP(): Promise<TestOP & { register(redirectUris: string[]): Promise<void> }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null
  const server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503
      res.end()
      return
    }
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clientId = 'tokenpair'
  const clientSecret = 'op-client-secret-0123456789abcdefghij'
  const accounts = new Map<string, TestAccount>()
  let next: TestAccount | null = null

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(account) {
      accounts.set(account.sub, account)
      next = account
    },
    async register(redirectUris) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true })
      const jwk = { ...(await exportJWK(privateKey)), kid: 'op-key', alg: 'RS256', use: 'sig' }
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: redirectUris,
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        jwks: { keys: [jwk] },
        cookies: { keys: ['op-cookie-key-0123456789abcdef'] },
        claims: {
          openid: ['sub'],
          email: ['email', 'email_verified'],
          profile: ['name', 'preferred_username'],
        },
        features: { devInteractions: { enabled: false } },
        interactions: {
          url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
        },
        pkce: { required: () => true },
        async findAccount(_ctx: unknown, sub: string) {
          const account = accounts.get(sub)
          if (!account) return undefined
          return { accountId: sub, claims: async () => ({ ...account }) }
        },
      })
      // A failing provider should say why in the test's output rather than only answer 400.
      provider.on('server_error', (_ctx, error) => console.error('oidc-provider:', error))
      const callback = provider.callback()
      handler = (req, res) => {
        const match = /^\/interaction\/([^/?]+)$/.exec(req.url?.split('?')[0] ?? '')
        if (!match) {
          callback(req, res)
          return
        }
        void (async () => {
          const details = await provider.interactionDetails(req, res)
          const account = next
          if (!account) throw new Error('signInAs() was not called')
          const grant = new provider.Grant({ accountId: account.sub, clientId: details.params.client_id! })
          grant.addOIDCScope(details.params.scope ?? 'openid')
          const grantId = await grant.save()
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: account.sub }, consent: { grantId } },
            { mergeWithLastSubmission: false },
          )
        })().catch((error: unknown) => {
          res.statusCode = 500
          res.end(String(error))
        })
      }
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
