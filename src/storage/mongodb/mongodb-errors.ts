import type { StorageErrorKind } from '../storage-guard.js'
import { EMAIL_INDEX, USERNAME_INDEX } from './mongodb-indexes.js'

/* Driver error classes that mean the servers cannot be reached (or were closed under us). */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoWaitQueueTimeoutError',
])

/*
 * Server codes of the same meaning: HostUnreachable 6, HostNotFound 7, NetworkTimeout 89,
 * ShutdownInProgress 91, PrimarySteppedDown 189, SocketException 9001, NotWritablePrimary 10107,
 * InterruptedAtShutdown 11600, InterruptedDueToReplStateChange 11602, NotPrimaryNoSecondaryOk 13435,
 * NotPrimaryOrSecondary 13436, MaxTimeMSExpired 50, ExceededTimeLimit 262.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])

/** Duplicate-key codes (11000; 11001 and 12582 from old servers). */
const DUPLICATE_CODES = new Set([11000, 11001, 12582])

/**
 * What a MongoDB driver error means to the domain. Never `retry`: no operation of the adapter runs
 * in a multi-document transaction, so there is none to run again.
 */
export function classifyMongoError(error: unknown): StorageErrorKind {
  if (typeof error !== 'object' || error === null) return null
  const e = error as {
    name?: unknown
    code?: unknown
    message?: unknown
    keyPattern?: unknown
    errorLabels?: unknown
  }
  if (typeof e.code === 'number' && DUPLICATE_CODES.has(e.code)) {
    // Which index, by its key pattern or its name; never by the message's `dup key` part, which
    // holds the value (an address such as "username@example.com").
    const fields =
      typeof e.keyPattern === 'object' && e.keyPattern !== null ? Object.keys(e.keyPattern).join(' ') : ''
    const index = typeof e.message === 'string' ? (/index: (\S+)/.exec(e.message)?.[1] ?? '') : ''
    if (fields === 'usernameKey' || index === USERNAME_INDEX) return 'unique_username'
    if (fields === 'emailKey' || index === EMAIL_INDEX) return 'unique_email'
    return 'unique_other'
  }
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return 'unavailable'
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return 'unavailable'
  // The driver labels transient failures (a stepped-down primary, a dropped socket) this way.
  if (Array.isArray(e.errorLabels) && e.errorLabels.includes('RetryableWriteError')) return 'unavailable'
  return null
}
