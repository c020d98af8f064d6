import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createAuth, ValidationError } from '../../src/index.js'
import { registerBearer, request } from '../helpers/http.js'
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/test-server.js'

/* The app's metadata on each user through the real router on every database: its schema, what the
 * user may write, the 4 KiB bound, and the round trip through storage. */

const schema = z.object({
  plan: z.enum(['free', 'pro']).default('free'),
  theme: z.string().max(20).optional(),
  bio: z.string().optional(),
  notes: z.string().optional(),
})
type Profile = z.infer<typeof schema>

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ rateLimit: false, metadata: { schema, userWritable: ['theme', 'bio'] } })
})
afterAll(async () => {
  await server.close()
})

async function me(accessToken: string) {
  const res = await request<{ metadata: Profile }>(`${server.url}/auth/me`, {
    headers: { authorization: `Bearer ${accessToken}` },
  })
  expect(res.status).toBe(200)
  return res.body.data.metadata
}

const patchMe = (accessToken: string, body: unknown) =>
  request<{ metadata: Profile }>(`${server.url}/auth/me`, {
    method: 'PATCH',
    body,
    headers: { authorization: `Bearer ${accessToken}` },
  })

describe('user metadata', () => {
  it("starts as the schema's output for {}, and the app's writes round-trip through storage", async () => {
    const user = await registerBearer(server.url)
    expect(await me(user.accessToken)).toEqual({ plan: 'free' })
    const users = server.auth.users
    const updated = await users.update(user.id, { metadata: { plan: 'pro', notes: 'asked for a demo' } })
    expect(updated.metadata).toEqual({ plan: 'pro', notes: 'asked for a demo' })
    expect(await me(user.accessToken)).toEqual({ plan: 'pro', notes: 'asked for a demo' })
    expect((await users.find(user.id))?.metadata).toEqual({ plan: 'pro', notes: 'asked for a demo' })
    // The app's write replaces the object whole.
    await users.update(user.id, { metadata: { plan: 'free' } })
    expect(await me(user.accessToken)).toEqual({ plan: 'free' })
  })

  it('lets the user write only the fields marked userWritable, merged into the rest', async () => {
    const user = await registerBearer(server.url)
    await server.auth.users.update(user.id, { metadata: { plan: 'pro', notes: 'vip' } })
    const ok = await patchMe(user.accessToken, { metadata: { theme: 'dark' } })
    expect(ok.status).toBe(200)
    expect(ok.body.data.metadata).toEqual({ plan: 'pro', notes: 'vip', theme: 'dark' })
    expect(await me(user.accessToken)).toEqual({ plan: 'pro', notes: 'vip', theme: 'dark' })

    const upgrade = await patchMe(user.accessToken, { metadata: { plan: 'pro', notes: 'mine', theme: 'x' } })
    expect([upgrade.status, upgrade.body.code, upgrade.body.errors]).toEqual([
      400,
      'validation_failed',
      [
        { path: 'metadata.plan', message: 'metadata.plan is not writable by the user' },
        { path: 'metadata.notes', message: 'metadata.notes is not writable by the user' },
      ],
    ])
    const long = await patchMe(user.accessToken, { metadata: { theme: 'x'.repeat(21) } })
    expect([long.status, long.body.errors?.map((e) => e.path)]).toEqual([400, ['metadata.theme']])
    const notObject = await patchMe(user.accessToken, { metadata: ['dark'] })
    expect([notObject.status, notObject.body.code]).toEqual([400, 'validation_failed'])
    // Nothing of the refused writes was stored.
    expect(await me(user.accessToken)).toEqual({ plan: 'pro', notes: 'vip', theme: 'dark' })
  })

  it('refuses metadata over 4 KiB of JSON, from the user and from the app', async () => {
    const user = await registerBearer(server.url)
    // {"plan":"free","bio":"…"} is 24 bytes around the text, and é takes 2: 4,096 bytes in all.
    const fits = 'é'.repeat(2036)
    const atLimit = await patchMe(user.accessToken, { metadata: { bio: fits } })
    expect(atLimit.status).toBe(200)
    const over = await patchMe(user.accessToken, { metadata: { bio: `${fits}a` } })
    expect([over.status, over.body.code, over.body.errors]).toEqual([
      400,
      'validation_failed',
      [{ path: 'metadata', message: 'metadata must be at most 4096 bytes of JSON, not 4097' }],
    ])
    const error = await server.auth.users
      .update(user.id, { metadata: { plan: 'pro', notes: 'n'.repeat(5000) } })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).errors[0]?.path).toBe('metadata')
    const wrong = await server.auth.users
      .update(user.id, { metadata: { plan: 'gold' } as unknown as Profile })
      .catch((e: unknown) => e)
    expect((wrong as ValidationError).errors.map((e) => e.path)).toEqual(['metadata.plan'])
    expect((await me(user.accessToken)).bio).toBe(fits)
  })

  it('refuses at start a schema that does not accept {}', async () => {
    await expect(
      createAuth({
        database: 'sqlite::memory:',
        secret: TEST_SECRET,
        metadata: { schema: z.object({ plan: z.string() }) },
      }),
    ).rejects.toThrow(/^metadata\.schema: must accept \{\}/)
  })
})
