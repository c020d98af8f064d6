// The second factor and passkeys on the demo page: TOTP with its QR code (an SVG the server renders),
// recovery codes shown once and downloadable, the code step of a login, passkeys added, listed,
// removed, and used to log in without a name.
import { MFARequiredError } from '/tokenpair-client.js'

const $ = (selector) => document.querySelector(selector)

/**
 * Wires the factor controls. `ui` holds the page's helpers: `client`, `showView`, `setStatus`,
 * `describeError`, `logActivity`, `handleForm`, `onSignedIn(user)`, `renderSessions()`.
 */
export function setUpFactors(ui) {
  const { client, setStatus, describeError, logActivity, handleForm } = ui
  let mfaToken = ''

  const password = () => $('#factor-password').value || undefined

  /**
   * After a factor was turned off, replaced or removed: the server has ended every other session
   * of the user, so the list is drawn again, and the password typed for the change is not kept.
   */
  async function otherSessionsEnded() {
    $('#factor-password').value = ''
    await ui.renderSessions()
  }

  async function guarded(action) {
    try {
      await action()
    } catch (error) {
      setStatus(describeError(error), 'error')
    }
  }

  function showRecoveryCodes(codes) {
    const list = $('#recovery-codes')
    list.replaceChildren(
      ...codes.map((code) => {
        const item = document.createElement('li')
        item.textContent = code
        return item
      }),
    )
    $('#recovery').hidden = false
  }

  /** Signs in, or moves to the code step when the server asks for a second factor. */
  async function signInWith(attempt) {
    try {
      const user = await attempt()
      await ui.onSignedIn(user)
    } catch (error) {
      if (!(error instanceof MFARequiredError)) throw error
      mfaToken = error.mfaToken
      ui.showView('mfa')
      setStatus('Enter a code to finish logging in.')
      $('#mfa-code').focus()
    }
  }

  handleForm($('#mfa-form'), async (data) => {
    const value = String(data.get('code')).trim()
    const input = /^\d{6}$/.test(value.replace(/\s/g, '')) ? { code: value } : { recoveryCode: value }
    const user = await client.verifyMFA({ mfaToken, ...input })
    mfaToken = ''
    $('#mfa-form').reset()
    logActivity('Logged in with a second factor')
    await ui.onSignedIn(user)
  })

  $('#passkey-login').addEventListener('click', () =>
    guarded(async () => {
      await signInWith(() => client.passkeys.login())
      logActivity('Logged in with a passkey')
    }),
  )

  $('#totp-start').addEventListener('click', () =>
    guarded(async () => {
      const setup = await client.mfa.setupTOTP({ currentPassword: password() })
      const svg = new DOMParser().parseFromString(setup.qrCodeSvg, 'image/svg+xml').documentElement
      $('#totp-qr').replaceChildren(document.importNode(svg, true))
      $('#totp-secret').textContent = setup.secret
      $('#totp-setup').hidden = false
      $('#totp-code').focus()
    }),
  )

  handleForm($('#totp-confirm-form'), async (data) => {
    const replacing = $('#totp-state').textContent === 'on'
    const codes = await client.mfa.confirmTOTP(String(data.get('code')))
    $('#totp-confirm-form').reset()
    $('#totp-setup').hidden = true
    showRecoveryCodes(codes)
    setStatus(
      replacing
        ? 'TOTP has a new secret; your other sessions were signed out. Keep the new recovery codes somewhere safe.'
        : 'TOTP is on. Keep the recovery codes somewhere safe.',
      'ok',
    )
    logActivity(replacing ? 'Replaced the TOTP secret' : 'Turned on TOTP')
    if (replacing) await otherSessionsEnded()
    await renderFactors()
  })

  $('#recovery-renew').addEventListener('click', () =>
    guarded(async () => {
      showRecoveryCodes(await client.mfa.regenerateRecoveryCodes({ currentPassword: password() }))
      setStatus(
        'New recovery codes; the old ones no longer work, and your other sessions were signed out.',
        'ok',
      )
      logActivity('Made new recovery codes')
      await otherSessionsEnded()
    }),
  )

  $('#recovery-download').addEventListener('click', () => {
    const codes = [...document.querySelectorAll('#recovery-codes li')].map((li) => li.textContent)
    const link = document.createElement('a')
    link.href = URL.createObjectURL(new Blob([`${codes.join('\n')}\n`], { type: 'text/plain' }))
    link.download = 'tokenpair-recovery-codes.txt'
    link.click()
    setTimeout(() => URL.revokeObjectURL(link.href), 1000)
  })

  handleForm($('#totp-disable-form'), async (data) => {
    await client.mfa.disableTOTP({ currentPassword: password(), code: String(data.get('code')) })
    $('#totp-disable-form').reset()
    $('#recovery').hidden = true
    setStatus('TOTP is off; your other sessions were signed out.', 'ok')
    logActivity('Turned off TOTP')
    await otherSessionsEnded()
    await renderFactors()
  })

  $('#passkey-add').addEventListener('click', () =>
    guarded(async () => {
      const name = $('#passkey-name').value.trim() || undefined
      const passkey = await client.passkeys.register({ currentPassword: password(), name })
      $('#passkey-name').value = ''
      $('#factor-password').value = ''
      setStatus(`Passkey "${passkey.name}" added.`, 'ok')
      logActivity('Added a passkey')
      await renderFactors()
    }),
  )

  async function renderPasskeys() {
    const passkeys = await client.passkeys.list()
    const list = $('#passkeys')
    list.replaceChildren()
    for (const passkey of passkeys) {
      const item = document.createElement('li')
      const text = document.createElement('div')
      text.textContent = passkey.name
      const meta = document.createElement('div')
      meta.className = 'session-meta'
      meta.textContent = passkey.lastUsedAt
        ? `Last used ${new Date(passkey.lastUsedAt).toLocaleString()}`
        : `Added ${new Date(passkey.createdAt).toLocaleString()}`
      text.append(meta)
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.className = 'danger'
      remove.textContent = 'Remove'
      remove.setAttribute('aria-label', `Remove the passkey ${passkey.name}`)
      remove.addEventListener('click', () =>
        guarded(async () => {
          await client.passkeys.remove(passkey.id, { currentPassword: password() })
          setStatus(`Passkey "${passkey.name}" removed; your other sessions were signed out.`, 'ok')
          logActivity('Removed a passkey')
          await otherSessionsEnded()
          await renderFactors()
        }),
      )
      item.append(text, remove)
      list.append(item)
    }
  }

  /** Shows the factors of the signed-in user. */
  async function renderFactors(user) {
    const me = user ?? (await client.me())
    const on = me.mfa?.totp === true
    const state = $('#totp-state')
    state.textContent = on ? 'on' : 'off'
    state.className = `badge ${on ? 'ok' : 'warn'}`
    $('#totp-start').textContent = on ? 'Set up a new secret' : 'Turn on TOTP'
    $('#totp-on').hidden = !on
    await renderPasskeys()
  }

  return { signInWith, renderFactors }
}
