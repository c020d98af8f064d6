import { describe, expect, it } from 'vitest'
import { smtpTransportOptions } from './mail-transport.js'

const timing = { timeoutMs: 1000 }

describe('SMTP and TLS', () => {
  it('requires STARTTLS for smtp:// to a host off this machine', () => {
    expect(smtpTransportOptions('smtp://mailer:pw@smtp.example.com:587', timing).requireTLS).toBe(true)
    expect(smtpTransportOptions('smtp://10.1.2.3:25', timing).requireTLS).toBe(true)
  })

  it('leaves STARTTLS optional to loopback, for smtps:// (TLS from the start) and when the URL opts out', () => {
    expect(smtpTransportOptions('smtp://127.0.0.1:2525', timing).requireTLS).toBe(false)
    expect(smtpTransportOptions('smtp://localhost:2525', timing).requireTLS).toBe(false)
    expect(smtpTransportOptions('smtp://[::1]:2525', timing).requireTLS).toBe(false)
    expect(smtpTransportOptions('smtps://smtp.example.com', timing).requireTLS).toBe(false)
    expect(smtpTransportOptions('smtp://relay.lan:25?requireTLS=false', timing).requireTLS).toBe(false)
  })
})
