import { describe, expect, it } from 'vitest'
import { resolveReturnTo, withErrorCode } from './return-to.js'

describe('resolveReturnTo', () => {
  it('keeps a path of this site, with its query and fragment', () => {
    expect(resolveReturnTo('/notes?tab=2#top')).toBe('/notes?tab=2#top')
    expect(resolveReturnTo('/')).toBe('/')
    expect(resolveReturnTo(undefined)).toBe('/')
  })

  it.each([
    'https://evil.example/',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/%09/evil.example',
    '/.//evil.example',
    '/..//evil.example',
    'javascript:alert(1)',
    'evil.example',
    '',
  ])('replaces %j with /', (value) => {
    const resolved = resolveReturnTo(value)
    expect(resolved.startsWith('//')).toBe(false)
    expect(new URL(resolved, 'https://tokenpair.example').origin).toBe('https://tokenpair.example')
    if (value !== '/%09/evil.example') expect(resolved).toBe('/')
  })

  it('refuses a list (a repeated query parameter) rather than picking one', () => {
    expect(resolveReturnTo(['/a', '//evil.example'])).toBe('/')
  })
})

describe('withErrorCode', () => {
  it('adds error to the query, before the fragment', () => {
    expect(withErrorCode('/notes?tab=2#top', 'oidc_failed')).toBe('/notes?tab=2&error=oidc_failed#top')
    expect(withErrorCode('/', 'account_exists')).toBe('/?error=account_exists')
  })
})
