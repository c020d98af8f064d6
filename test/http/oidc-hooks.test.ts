import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AuthHooks } from '../../src/config/app-options.js'
import { AuthError, ValidationError } from '../../src/errors.js'
import { newUser, parseSetCookies, request } from '../helpers/http.js'
import { totpCode, turnOnTOTP } from '../helpers/mfa.js'
import { danceToCallback, startServerWithOP } from '../helpers/oidc-dance.js'
import type { TestAccount, TestOP } from '../helpers/oidc-op.js'
import type { TestServer } from '../helpers/test-server.js'

/*
 * The app's hooks around a user that a first sign-in with an identity provider creates (a real
 * OpenID provider on loopback): they run as at a registration, told the source, and a refusal
 * ends the sign-in with the app's code, nothing written.
 */

type HookContext = Parameters<NonNullable<AuthHooks['beforeRegister']>>[0]

const calls: string[] = []
const registrations: HookContext[] = []
let behaviour: Partial<Record<keyof AuthHooks, (context: never) => unknown>> = {}

const hooks: AuthHooks = {
  beforeRegister: async (context) => {
    calls.push('beforeRegister')
    registrations.push(context)
    return (await behaviour.beforeRegister?.(context as never)) as undefined
  },
  beforeSessionCreate: async (context) => {
    calls.push(`beforeSessionCreate:${context.reason}`)
    await behaviour.beforeSessionCreate?.(context as never)
  },
  afterRegister: async () => {
    calls.push('afterRegister')
  },
  afterLogin: async () => {
    calls.push('afterLogin')
  },
}

let op: TestOP
let server: TestServer
let close: () => Promise<void>

beforeAll(async () => {
  ;({ op, server, close } = await startServerWithOP({
    hooks,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  }))
})
afterAll(() => close?.())
beforeEach(() => {
  calls.length = 0
  registrations.length = 0
  behaviour = {}
})

let accounts = 0
function newAccount(): TestAccount {
  accounts++
  const tag = `${process.pid.toString(36)}${accounts}${Math.random().toString(36).slice(2, 6)}`
  return {
    sub: `hook-${tag}`,
    email: `hook_${tag}@example.com`,
    email_verified: true,
    name: 'Hooked Person',
    preferred_username: `hooked_${tag}`,
  }
}

function signIn(account: TestAccount, returnTo?: string) {
  op.signInAs(account)
  return danceToCallback(server.url, returnTo === undefined ? {} : { returnTo })
}

/** Whether the sign-in wrote anything: a user with the address, the identity. */
async function written(account: TestAccount) {
  const user = await server.auth.storage.findUserByLogin(account.email!)
  const identity = await server.auth.storage.findIdentity(op.issuer, account.sub)
  return { user: user !== null, identity: identity !== null }
}

describe('hooks on a first sign-in with an identity provider', () => {
  it('run as at a registration, told the source and the provider; a later sign-in is a login', async () => {
    const account = newAccount()
    const { callback } = await signIn(account)
    expect(callback.location!.searchParams.has('error')).toBe(false)
    expect(calls).toEqual(['beforeRegister', 'beforeSessionCreate:register', 'afterRegister'])
    expect(registrations[0]).toMatchObject({
      input: { username: account.preferred_username, email: account.email, fullname: 'Hooked Person' },
      source: 'provider',
      provider: 'corp',
      client: { ip: expect.any(String) },
    })
    calls.length = 0
    await signIn(account)
    expect(calls).toEqual(['beforeSessionCreate:login', 'afterLogin'])
  })

  it('tells a password registration its source too', async () => {
    const res = await request(`${server.url}/auth/register`, {
      body: newUser(),
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(res.status).toBe(201)
    expect(registrations[0]).toMatchObject({ source: 'password', provider: null })
  })

  it('lets beforeRegister change the fullname', async () => {
    behaviour.beforeRegister = () => ({ fullname: '  Ada From Corp  ' })
    const account = newAccount()
    await signIn(account)
    const user = await server.auth.storage.findUserByLogin(account.email!)
    expect(user?.fullname).toBe('Ada From Corp')
  })

  it.each([
    ['forbidden', () => new AuthError('forbidden', 'Only staff of example.org')],
    ['validation_failed', () => new ValidationError([{ path: 'email', message: 'not ours' }])],
    ['email_taken', () => new AuthError('email_taken', 'That address is reserved')],
  ])('turns a veto by beforeRegister into ?error=%s, nothing written', async (code, refusal) => {
    behaviour.beforeRegister = () => {
      throw refusal()
    }
    const account = newAccount()
    const { callback } = await signIn(account, '/welcome')
    expect(callback.location!.href).toBe(`${server.url}/welcome?error=${code}`)
    const cookies = parseSetCookies(callback.setCookies)
    expect(cookies.has('accessToken') || cookies.has('refreshToken')).toBe(false)
    expect(await written(account)).toEqual({ user: false, identity: false })
    expect(calls).toEqual(['beforeRegister'])
  })

  it('turns a veto by beforeSessionCreate into ?error=forbidden before the user is written', async () => {
    behaviour.beforeSessionCreate = () => {
      throw new AuthError('forbidden', 'Not from there')
    }
    const account = newAccount()
    const { callback } = await signIn(account)
    expect(callback.location!.href).toBe(`${server.url}/?error=forbidden`)
    expect(await written(account)).toEqual({ user: false, identity: false })
    expect(calls).toEqual(['beforeRegister', 'beforeSessionCreate:register'])
  })

  it('a hook that fails with a code outside the allowed set: oidc_failed, nothing written', async () => {
    behaviour.beforeRegister = () => {
      throw new AuthError('invalid_token', 'misused code')
    }
    const account = newAccount()
    const { callback } = await signIn(account)
    expect(callback.location!.href).toBe(`${server.url}/?error=oidc_failed`)
    expect(await written(account)).toEqual({ user: false, identity: false })
  })

  it('runs afterLogin once the second factor has opened the session, not at the callback', async () => {
    const account = newAccount()
    const first = await signIn(account)
    const headers = {
      cookie: `accessToken=${first.browser.cookie(server.url, 'accessToken')}`,
      origin: server.url,
    }
    const { secret } = await turnOnTOTP(server.url, headers)
    calls.length = 0
    const { callback } = await signIn(account)
    const mfaToken = new URLSearchParams(callback.location!.hash.slice(1)).get('mfa_token')
    expect(calls).toEqual([])
    const verify = await request(`${server.url}/auth/mfa/verify`, {
      body: { mfaToken, code: totpCode(secret, Date.now() + 30_000) },
      headers: { 'x-auth-mode': 'bearer' },
    })
    expect(verify.status).toBe(200)
    expect(calls).toEqual(['beforeSessionCreate:login', 'afterLogin'])
  })
})
