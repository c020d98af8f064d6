import type { ResolvedOptions } from '../config/options.js'
import type { EventBus } from '../events/events.js'
import type { RateLimits } from '../limits/rate-limits.js'
import type { Mailer } from '../mail/mailer.js'
import type { SessionStatusCache } from '../storage/session-status-cache.js'
import type { Storage } from '../storage/storage.js'
import type { DPoPReplayStore } from '../tokens/dpop-replay.js'
import type { KeyRing } from '../tokens/keys.js'

/** What the domain functions share: settings, storage and keys. Built once by `createAuth`. */
export interface Engine {
  readonly options: ResolvedOptions
  readonly storage: Storage
  readonly keys: KeyRing
  /** Where security events go (log line, `onEvent`, metrics, webhook). */
  readonly events: EventBus
  /**
   * Brute-force limiters (limits/). The domain operations apply them, since they know what a
   * failure is (a wrong password, a refused token): handlers only pass the client's address in.
   */
  readonly limits: RateLimits
  /** Session statuses read by `requireAuth({ checkSession: true })`, cleared by local revocations. */
  readonly sessionCache: SessionStatusCache
  /** Sends verification and reset mails in the background (src/mail/mailer.ts). */
  readonly mailer: Mailer
  /** The `jti` of every accepted DPoP proof, for its lifetime: in Redis where the limits are. */
  readonly dpopReplay: DPoPReplayStore
}
