import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AuthHooks } from '../../src/config/app-options.js'
import { AuthError, ValidationError } from '../../src/errors.js'
import { newUser, request } from '../helpers/http.js'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/* The app's hooks into registration and login, through the real router on every database. */

const calls: string[] = []
const logged: string[] = []
/** What each hook does in the current case; reset before each. */
let behaviour: Partial<Record<keyof AuthHooks, (context: never) => unknown>> = {}

const hooks: AuthHooks = {
  beforeRegister: async (context) => {
    calls.push(`beforeRegister:${context.input.username}`)
    return (await behaviour.beforeRegister?.(context as never)) as undefined
  },
  beforeSessionCreate: async (context) => {
    calls.push(`beforeSessionCreate:${context.reason}`)
    await behaviour.beforeSessionCreate?.(context as never)
  },
  afterRegister: async (context) => {
    calls.push(`afterRegister:${context.session.id === '' ? 'none' : 'session'}`)
    await behaviour.afterRegister?.(context as never)
  },
  afterLogin: async (context) => {
    calls.push('afterLogin')
    await behaviour.afterLogin?.(context as never)
  },
}

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({
    rateLimit: false,
    hooks,
    logger: { info: () => {}, warn: () => {}, error: (obj) => logged.push(JSON.stringify(obj)) },
  })
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => {
  calls.length = 0
  logged.length = 0
  behaviour = {}
})

const register = (body: Record<string, unknown>) =>
  request<{ accessToken: string; user: { id: string; fullname: string } }>(`${server.url}/auth/register`, {
    body,
    headers: { 'x-auth-mode': 'bearer' },
  })
const login = (body: { username: string; password: string }, userAgent = 'test') =>
  request<{ accessToken: string }>(`${server.url}/auth/login`, {
    body: { login: body.username, password: body.password },
    headers: { 'x-auth-mode': 'bearer', 'user-agent': userAgent },
  })

describe('the order of the hooks', () => {
  it('registration: beforeRegister, beforeSessionCreate, afterRegister; login: beforeSessionCreate, afterLogin', async () => {
    const body = newUser()
    expect((await register(body)).status).toBe(201)
    expect(calls).toEqual([
      `beforeRegister:${body.username}`,
      'beforeSessionCreate:register',
      'afterRegister:session',
    ])
    calls.length = 0
    expect((await login(body)).status).toBe(200)
    expect(calls).toEqual(['beforeSessionCreate:login', 'afterLogin'])
  })
})

describe('beforeRegister', () => {
  it("refuses with the app's code, and nothing is written", async () => {
    behaviour.beforeRegister = () => {
      throw new AuthError('forbidden', 'Registration is closed for this domain')
    }
    const body = newUser()
    const res = await register(body)
    expect([res.status, res.body.code, res.body.message]).toEqual([
      403,
      'forbidden',
      'Registration is closed for this domain',
    ])
    expect(await server.auth.storage.findUserByLogin(body.username)).toBeNull()
    expect(await server.auth.storage.findUserByLogin(body.email)).toBeNull()
    expect(calls).toEqual([`beforeRegister:${body.username}`])
  })

  it('refuses with field problems (validation_failed), or as a taken name', async () => {
    behaviour.beforeRegister = () => {
      throw new ValidationError([{ path: 'email', message: 'email must be an address of example.org' }])
    }
    const res = await register(newUser())
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed'])
    expect(res.body.errors).toEqual([{ path: 'email', message: 'email must be an address of example.org' }])
    behaviour.beforeRegister = () => {
      throw new AuthError('username_taken', 'That name is reserved')
    }
    expect((await register(newUser())).status).toBe(409)
  })

  it('a code outside the allowed set is the app’s bug: 500, logged with the hook’s name, nothing written', async () => {
    behaviour.beforeRegister = () => {
      throw new AuthError('invalid_token', 'misused code')
    }
    const body = newUser()
    const res = await register(body)
    expect([res.status, res.body.code]).toEqual([500, 'internal_error'])
    expect(logged.join('\n')).toContain('hooks.beforeRegister: refused with code invalid_token')
    expect(await server.auth.storage.findUserByLogin(body.username)).toBeNull()
  })

  it('changes the fullname, under the rule of the field', async () => {
    behaviour.beforeRegister = () => ({ fullname: '  Ada Lovelace  ' })
    const res = await register(newUser({ fullname: 'ada' }))
    expect(res.body.data.user.fullname).toBe('Ada Lovelace')
    behaviour.beforeRegister = () => ({ fullname: '' })
    const body = newUser()
    const bad = await register(body)
    expect([bad.status, bad.body.code]).toEqual([500, 'internal_error'])
    expect(logged.join('\n')).toContain('hooks.beforeRegister: returned a fullname')
    expect(await server.auth.storage.findUserByLogin(body.username)).toBeNull()
  })
})

describe('beforeSessionCreate', () => {
  it('refuses a registration before the user is written', async () => {
    behaviour.beforeSessionCreate = () => {
      throw new AuthError('forbidden', 'Not from your country')
    }
    const body = newUser()
    const res = await register(body)
    expect([res.status, res.body.code]).toEqual([403, 'forbidden'])
    expect(await server.auth.storage.findUserByLogin(body.username)).toBeNull()
  })

  it('refuses a login, and no session is opened', async () => {
    const body = newUser()
    const reg = await register(body)
    behaviour.beforeSessionCreate = (context: { client: { userAgent: string | null } }) => {
      if (context.client.userAgent === 'BlockedBot') throw new AuthError('forbidden', 'Not from there')
    }
    const res = await login(body, 'BlockedBot')
    expect([res.status, res.body.code]).toEqual([403, 'forbidden'])
    const sessions = await server.auth.storage.listActiveSessions(reg.body.data.user.id, Date.now())
    expect(sessions).toHaveLength(1)
    expect(calls).not.toContain('afterLogin')
    expect((await login(body, 'Firefox')).status).toBe(200)
  })
})

describe('after hooks', () => {
  it('a throwing afterLogin still logs the user in, and is logged', async () => {
    const body = newUser()
    await register(body)
    behaviour.afterLogin = () => {
      throw new Error('the CRM is down')
    }
    const res = await login(body)
    expect(res.status).toBe(200)
    const me = await request(`${server.url}/auth/me`, {
      headers: { authorization: `Bearer ${res.body.data.accessToken}` },
    })
    expect(me.status).toBe(200)
    expect(logged.join('\n')).toContain('the CRM is down')
    expect(logged.join('\n')).toContain('"hook":"afterLogin"')
  })

  it('a rejecting afterRegister still registers the user', async () => {
    behaviour.afterRegister = () => Promise.reject(new Error('welcome mail failed'))
    const body = newUser()
    const res = await register(body)
    expect(res.status).toBe(201)
    expect(await server.auth.storage.findUserByLogin(body.username)).not.toBeNull()
    expect(logged.join('\n')).toContain('welcome mail failed')
  })

  it('see the user and the session that were written', async () => {
    let seen: { userId: string; sessionId: string } | null = null
    behaviour.afterRegister = (context: { user: { id: string }; session: { id: string } }) => {
      seen = { userId: context.user.id, sessionId: context.session.id }
    }
    const res = await register(newUser())
    const sessions = await server.auth.storage.listActiveSessions(res.body.data.user.id, Date.now())
    expect(seen).toEqual({ userId: res.body.data.user.id, sessionId: sessions[0]!.id })
  })
})

describe('the hooks option', () => {
  it('refuses an unknown hook at start, naming it', async () => {
    await expect(
      startTestServer({ hooks: { beforeLogin: () => {} } as unknown as AuthHooks }),
    ).rejects.toThrow('hooks.beforeLogin: unknown hook')
  })
})
