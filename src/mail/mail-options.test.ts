import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { resolveAppUrl, resolveMailOptions } from './mail-options.js'
import { describeDuration, escapeHTML, verifyEmailTemplate } from './mail-templates.js'

describe('resolveMailOptions', () => {
  it('applies the defaults', () => {
    const options = resolveMailOptions(undefined)
    expect(options).toMatchObject({
      smtpUrl: null,
      from: 'tokenpair@localhost',
      attempts: 3,
      retryDelayMs: 2000,
    })
    expect(Object.isFrozen(options)).toBe(true)
  })

  it('refuses each bad setting with its name, never echoing an SMTP URL', () => {
    const cases: [Parameters<typeof resolveMailOptions>[0], string][] = [
      [{ smtpUrl: 'http://u:hunter2@host' }, 'mail.smtpUrl'],
      [{ smtpUrl: 'hunter2 not a url' }, 'mail.smtpUrl'],
      [{ from: 'no-at-sign' }, 'mail.from'],
      [{ from: 'a@b.c\nBcc: x@y.z' }, 'mail.from'],
      [{ attempts: 0 }, 'mail.attempts'],
      [{ attempts: 1.5 }, 'mail.attempts'],
      [{ retryDelay: 'soon' }, 'mail.retryDelay'],
      [{ attemptTimeout: 10 }, 'mail.attemptTimeout'],
      // Timers: past 2^31 - 1 ms Node would fire at once.
      [{ retryDelay: '30d' }, 'mail.retryDelay'],
      [{ attemptTimeout: '25d' }, 'mail.attemptTimeout'],
      [{ maxPending: 0 }, 'mail.maxPending'],
      // biome-ignore lint/suspicious/noExplicitAny: a caller without types may pass anything.
      [{ templates: { verifyEmail: 'Hello' as any } }, 'mail.templates.verifyEmail'],
    ]
    for (const [options, setting] of cases) {
      let caught: unknown
      try {
        resolveMailOptions(options)
      } catch (error) {
        caught = error
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(ConfigError)
      expect((caught as ConfigError).setting).toBe(setting)
      expect((caught as ConfigError).message).not.toContain('hunter2')
    }
  })

  it('checks appUrl and trims its trailing slash', () => {
    expect(resolveAppUrl('https://app.example.com/base/')).toBe('https://app.example.com/base')
    expect(resolveAppUrl(undefined)).toBeNull()
    for (const bad of ['nope', 'ftp://x.example', 'https://x.example/?a=1', 'https://u:p@x.example']) {
      expect(() => resolveAppUrl(bad), bad).toThrow(ConfigError)
    }
  })
})

describe('templates', () => {
  it('describes durations in words', () => {
    expect(describeDuration(86_400_000)).toBe('24 hours')
    expect(describeDuration(3_600_000)).toBe('1 hour')
    expect(describeDuration(5_400_000)).toBe('90 minutes')
    expect(describeDuration(7 * 86_400_000)).toBe('7 days')
    expect(describeDuration(1500)).toBe('2 seconds')
  })

  it('escapes user text in HTML and keeps the link in both bodies', () => {
    expect(escapeHTML(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
    const link = 'https://app.example.com/verify-email?token=abc&x=1'
    const mail = verifyEmailTemplate({
      link,
      user: { username: 'ann', fullname: '<script>x</script>', email: 'ann@example.com' },
      validFor: '24 hours',
      expiresAt: new Date(0),
    })
    expect(mail.text).toContain(link)
    expect(mail.html).toContain('href="https://app.example.com/verify-email?token=abc&amp;x=1"')
    expect(mail.html).not.toContain('<script>')
  })
})
