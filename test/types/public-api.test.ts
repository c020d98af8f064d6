import type BetterSqlite3 from 'better-sqlite3'
import type { Request, RequestHandler, Router } from 'express'
import type { Kysely } from 'kysely'
import type mysql from 'mysql2'
import type mysqlPromise from 'mysql2/promise'
import type pg from 'pg'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { type ClientError, createClient } from '../../src/client/index.js'
import {
  type AccessTokenClaims,
  type AppUser,
  type Auth,
  type AuthError,
  type AuthOptions,
  createAuth,
  type DatabaseHandle,
  type ErrorCode,
  type NoClaims,
  type PublicUser,
  type RequestAuth,
  type Storage,
} from '../../src/index.js'
import { createVerifier } from '../../src/verify/index.js'

/* Type-level tests of the public API: they fail `tsc --noEmit` (run by `npm test`) when a public
 * signature drifts. The runtime behaviour is tested elsewhere. */

describe('public types', () => {
  it('createAuth resolves to the router, the middleware and the storage', () => {
    expectTypeOf(createAuth<NoClaims>).returns.resolves.toEqualTypeOf<Auth>()
    expectTypeOf<Auth['router']>().returns.toEqualTypeOf<Router>()
    expectTypeOf<Auth['requireAuth']>().returns.toEqualTypeOf<RequestHandler>()
    expectTypeOf<Auth['storage']>().toEqualTypeOf<Storage>()
    expectTypeOf<Auth['verifyAccessToken']>().returns.resolves.toEqualTypeOf<AccessTokenClaims>()
  })

  it("database takes the drivers' own handles, as their packages type them", () => {
    expectTypeOf<pg.Pool>().toExtend<DatabaseHandle>()
    expectTypeOf<mysql.Pool>().toExtend<DatabaseHandle>()
    expectTypeOf<mysqlPromise.Pool>().toExtend<DatabaseHandle>()
    expectTypeOf<BetterSqlite3.Database>().toExtend<DatabaseHandle>()
    expectTypeOf<Kysely<{ notes: { id: number } }>>().toExtend<DatabaseHandle>()
    expectTypeOf<DatabaseHandle>().toExtend<AuthOptions['database']>()
    expectTypeOf<AuthOptions['tablePrefix']>().toEqualTypeOf<string | undefined>()
  })

  it('requireAuth options are typed, and roles take strings only', () => {
    expectTypeOf<Parameters<Auth['requireAuth']>[0]>().toEqualTypeOf<
      | {
          roles?: readonly string[]
          checkSession?: boolean
          verifiedEmail?: boolean
          mfa?: boolean
          maxAge?: number | string
        }
      | undefined
    >()
  })

  it('req.auth carries the user, the session and the claims', () => {
    expectTypeOf<Request['auth']>().toEqualTypeOf<RequestAuth | undefined>()
    expectTypeOf<RequestAuth['userId']>().toBeString()
    expectTypeOf<RequestAuth['sessionId']>().toBeString()
    expectTypeOf<AccessTokenClaims['roles']>().toEqualTypeOf<string[]>()
  })

  it("the app's claims are typed through a generic, and reserved names are refused", async () => {
    type Tenant = { tenant: string; plan: 'free' | 'pro' }
    const options = { database: 'sqlite::memory:', secret: 'x'.repeat(32) }
    const make = () =>
      createAuth({ ...options, claims: async (): Promise<Tenant> => ({ tenant: 't', plan: 'free' }) })
    expectTypeOf(make).returns.resolves.toEqualTypeOf<Auth<Tenant>>()
    expectTypeOf<ReturnType<Auth<Tenant>['readAuth']>['claims']['tenant']>().toBeString()
    expectTypeOf<ReturnType<Auth<Tenant>['readAuth']>['claims']['sub']>().toBeString()
    expectTypeOf<Auth<Tenant>['verifyAccessToken']>().returns.resolves.toHaveProperty('plan')
    const verifier = () =>
      createVerifier<Tenant>({ jwksUrl: 'https://a.example/jwks', issuer: 'i', audience: 'a' })
    expectTypeOf(verifier).returns.toHaveProperty('verify').returns.resolves.toHaveProperty('tenant')
    // @ts-expect-error `sub` is reserved: the app cannot set it.
    const reserved = () => createAuth({ ...options, claims: () => ({ sub: 'someone else', tenant: 't' }) })
    // @ts-expect-error `amr` is reserved: only a verified factor sets it.
    const amr = () => createAuth({ ...options, claims: () => ({ amr: ['mfa'] }) })
    // @ts-expect-error a function is not a JSON value.
    const fn = () => createAuth({ ...options, claims: () => ({ tenant: () => 't' }) })
    expectTypeOf(reserved).toBeFunction()
    expectTypeOf(amr).toBeFunction()
    expectTypeOf(fn).toBeFunction()
  })

  it('errors carry a code from the closed list', () => {
    expectTypeOf<AuthError['code']>().toEqualTypeOf<ErrorCode>()
    expectTypeOf<ClientError['code']>().toBeString()
    expectTypeOf<'token_expired'>().toExtend<ErrorCode>()
    expectTypeOf<'no_such_code'>().not.toExtend<ErrorCode>()
  })

  it('the public user never has a password hash', () => {
    expectTypeOf<PublicUser>().not.toHaveProperty('passwordHash')
    expectTypeOf<PublicUser>().toHaveProperty('emailVerified').toBeBoolean()
  })

  it('the client and the verifier are typed by their options', () => {
    expectTypeOf(createClient).parameter(0).toHaveProperty('mode')
    expectTypeOf(createVerifier).returns.toHaveProperty('requireAuth')
  })

  it('auth.users and auth.sessions are typed, and never hand out a password hash', () => {
    expectTypeOf<Auth['users']['find']>().returns.resolves.toEqualTypeOf<AppUser | null>()
    expectTypeOf<AppUser>().not.toHaveProperty('passwordHash')
    expectTypeOf<Auth['users']['disable']>().returns.resolves.toEqualTypeOf<{ revokedSessions: number }>()
    expectTypeOf<Auth['users']['resetMfa']>().returns.resolves.toEqualTypeOf<{
      totp: boolean
      revokedSessions: number
    }>()
    expectTypeOf<Auth['sessions']['revoke']>().returns.resolves.toBeBoolean()
  })

  it("the metadata is typed from the app's schema, and userWritable takes its fields only", () => {
    const options = { database: 'sqlite::memory:', secret: 'x'.repeat(32) }
    const schema = z.object({ plan: z.enum(['free', 'pro']).default('free'), theme: z.string().optional() })
    type Profile = { plan: 'free' | 'pro'; theme?: string | undefined }
    const make = () => createAuth({ ...options, metadata: { schema, userWritable: ['theme'] } })
    expectTypeOf(make).returns.resolves.toEqualTypeOf<Auth<NoClaims, Profile>>()
    expectTypeOf<
      Auth<NoClaims, Profile>['users']['find']
    >().returns.resolves.toEqualTypeOf<AppUser<Profile> | null>()
    expectTypeOf<Parameters<Auth<NoClaims, Profile>['users']['update']>[1]>().toEqualTypeOf<{
      metadata: Profile
    }>()
    const wrong = () =>
      // @ts-expect-error: a field the schema does not have
      createAuth({ ...options, metadata: { schema, userWritable: ['role'] } })
    expectTypeOf(wrong).toBeFunction()
  })
})
