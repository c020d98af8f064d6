import { describe, expect, it } from 'vitest'
import { classifyMongoError } from './mongodb-errors.js'

/** A duplicate-key error as the driver raises it (MongoServerError, code 11000). */
function duplicate(keyPattern: Record<string, number> | undefined, index: string, value: string) {
  return Object.assign(
    new Error(
      `E11000 duplicate key error collection: app.tp_users index: ${index} dup key: { x: "${value}" }`,
    ),
    { name: 'MongoServerError', code: 11000, ...(keyPattern ? { keyPattern } : {}) },
  )
}

describe('classifyMongoError', () => {
  it('names the taken field by the index, never by the value in the message', () => {
    expect(classifyMongoError(duplicate({ usernameKey: 1 }, 'tp_users_username', 'email_x'))).toBe(
      'unique_username',
    )
    expect(classifyMongoError(duplicate({ emailKey: 1 }, 'tp_users_email', 'username@example.com'))).toBe(
      'unique_email',
    )
    // Old servers send no keyPattern: the index's name says which.
    expect(classifyMongoError(duplicate(undefined, 'tp_users_email', 'username@example.com'))).toBe(
      'unique_email',
    )
    expect(classifyMongoError(duplicate({ _id: 1 }, '_id_', 'u1'))).toBe('unique_other')
  })

  it('reads unreachable servers from the error class, the server code or the retryable label', () => {
    expect(classifyMongoError(Object.assign(new Error('x'), { name: 'MongoServerSelectionError' }))).toBe(
      'unavailable',
    )
    expect(classifyMongoError(Object.assign(new Error('x'), { code: 91 }))).toBe('unavailable')
    expect(classifyMongoError(Object.assign(new Error('x'), { errorLabels: ['RetryableWriteError'] }))).toBe(
      'unavailable',
    )
  })

  it('leaves every other error alone', () => {
    expect(classifyMongoError(new TypeError('bug'))).toBeNull()
    expect(classifyMongoError(Object.assign(new Error('x'), { code: 2 }))).toBeNull()
    expect(classifyMongoError('text')).toBeNull()
    expect(classifyMongoError(null)).toBeNull()
  })
})
