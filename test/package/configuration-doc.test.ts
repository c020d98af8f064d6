import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ENV_VARIABLES } from '../../src/config/env.js'
import type { OIDCProviderOptions } from '../../src/config/oidc-providers.js'
import type { AuthOptions, WebAuthnOptions } from '../../src/config/options.js'
import type { RateLimitOptions } from '../../src/limits/rate-limit-settings.js'
import type { MailOptions } from '../../src/mail/mail-options.js'

/*
 * docs/configuration.md cannot drift from the code. The records below must name every option
 * (the type checker refuses a record that misses a key, so a new option fails `npm test` until it
 * is listed here), and the page must have a row for each, and for each variable of the server
 * with its default.
 */

const OPTIONS: Record<keyof AuthOptions, true> = {
  database: true,
  tablePrefix: true,
  secret: true,
  algorithm: true,
  accessTokenSecret: true,
  refreshTokenSecret: true,
  issuer: true,
  audience: true,
  accessTokenTtl: true,
  refreshTokenTtl: true,
  sessionMaxAge: true,
  refreshReuseGrace: true,
  allowedOrigins: true,
  cookieSecure: true,
  basePath: true,
  clockTolerance: true,
  logger: true,
  rateLimit: true,
  sessionCheckCacheTtl: true,
  cookiePrefix: true,
  onEvent: true,
  keyReloadInterval: true,
  sweepInterval: true,
  appUrl: true,
  emailVerifyTtl: true,
  passwordResetTtl: true,
  mail: true,
  maxSessionsPerUser: true,
  claims: true,
  hooks: true,
  validatePassword: true,
  metadata: true,
  providers: true,
  dpop: true,
  dpopNonce: true,
  reauthMaxAge: true,
  webauthn: true,
}
const RATE_LIMIT_OPTIONS: Record<keyof RateLimitOptions, true> = {
  loginPair: true,
  loginName: true,
  loginIp: true,
  register: true,
  refresh: true,
  resetRequestIp: true,
  resetRequestAddress: true,
  verifyMailAddress: true,
  sensitiveUser: true,
  sensitiveIp: true,
  oidcCallback: true,
  passkeyChallenge: true,
  redisUrl: true,
  redis: true,
  keyPrefix: true,
}
const MAIL_OPTIONS: Record<keyof MailOptions, true> = {
  smtpUrl: true,
  outboxDir: true,
  transport: true,
  from: true,
  templates: true,
  attempts: true,
  retryDelay: true,
  attemptTimeout: true,
  maxPending: true,
}
const PROVIDER_OPTIONS: Record<keyof OIDCProviderOptions, true> = {
  kind: true,
  issuer: true,
  clientId: true,
  clientSecret: true,
  scopes: true,
  redirectUri: true,
  apiUrl: true,
  label: true,
}

const WEBAUTHN_OPTIONS: Record<keyof WebAuthnOptions, true> = { rpId: true, rpName: true }

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const rows = readFileSync(join(repo, 'docs/configuration.md'), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) => line.split('|').map((cell) => cell.trim()))

/** The table rows whose first cell is `name` in backticks. */
const rowsOf = (name: string) => rows.filter((cells) => cells[1] === `\`${name}\``)

describe('docs/configuration.md', () => {
  it('has a row for every option of createAuth, rateLimit, mail, a provider and webauthn', () => {
    const names = [
      ...Object.keys(OPTIONS),
      ...Object.keys(RATE_LIMIT_OPTIONS).map((n) => `rateLimit.${n}`),
      ...Object.keys(MAIL_OPTIONS).map((n) => `mail.${n}`),
      ...Object.keys(PROVIDER_OPTIONS).map((n) => `providers.NAME.${n}`),
      ...Object.keys(WEBAUTHN_OPTIONS).map((n) => `webauthn.${n}`),
    ]
    expect(names.filter((name) => rowsOf(name).length !== 1)).toEqual([])
  })

  it('names each variable of the server beside its option, with its default', () => {
    const problems: string[] = []
    for (const variable of ENV_VARIABLES) {
      const row = variable.option ? rowsOf(variable.option)[0] : rowsOf(variable.name)[0]
      if (!row) {
        problems.push(`${variable.name}: no row`)
        continue
      }
      if (variable.option && !row[2]!.includes(`\`${variable.name}\``)) {
        problems.push(`${variable.name}: not in the row of ${variable.option}`)
      }
      if (variable.default && !row.join('|').includes(`\`${variable.default}\``)) {
        problems.push(`${variable.name}: default ${variable.default} not in its row`)
      }
    }
    expect(problems).toEqual([])
  })
})
