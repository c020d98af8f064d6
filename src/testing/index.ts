export { type ConformanceOptions, describeStorageConformance } from './conformance.js'
export { makeKey, makeSession, makeToken, makeUser } from './fixtures.js'
