import type { Server } from 'node:http'
import { type Auth, createAuth } from '../../src/auth.js'
import type { AuthOptions } from '../../src/config/options.js'
import type { MailTransport } from '../../src/mail/mail-transport.js'
import { createServerApp } from '../../src/server/app.js'
import { serve } from './serve.js'
import { createTestDatabase, type TestDatabase } from './test-database.js'

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz'

/** A mail transport that sends nothing. */
export const DISCARD_MAIL: MailTransport = {
  description: 'discard',
  send: async () => {},
  close: async () => {},
}

/** A real server on an ephemeral loopback port. */
export interface TestServer {
  url: string
  auth: Auth
  server: Server
  database: TestDatabase
  close(): Promise<void>
}

/** Options of {@link startTestServer}: any `createAuth` option, plus the server's. */
export type TestServerOptions = Partial<AuthOptions> & { trustProxy?: boolean | number | string }

/**
 * Starts the real app (createAuth + the server's Express app) on 127.0.0.1:0, on the database of
 * this test run (`sqlite::memory:` unless `TEST_DATABASE_URL` names another; see test-database.ts).
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { trustProxy, ...authOptions } = options
  const database = authOptions.database ? null : await createTestDatabase()
  const auth = await createAuth({
    secret: TEST_SECRET,
    cookieSecure: true,
    // Mail tests pass their own transport; everyone else's mail is dropped, not written to ./data.
    mail: { transport: DISCARD_MAIL },
    ...authOptions,
    database: authOptions.database ?? database!.url,
  }).catch(async (error: unknown) => {
    // A server that fails to start (a test of bad options) must not leave its database behind.
    await database?.drop()
    throw error
  })
  const app = createServerApp(auth, { trustProxy: trustProxy ?? false })
  const served = await serve(app)
  return {
    url: served.url,
    auth,
    server: served.server,
    database: database ?? { url: String(authOptions.database), drop: async () => {} },
    async close() {
      await served.close()
      await auth.close()
      await database?.drop()
    },
  }
}
