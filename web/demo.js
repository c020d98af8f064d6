// The tokenpair demo: the browser client in cookie mode, no framework, no inline code (the page's
// Content-Security-Policy allows scripts and styles from this origin only).
import { setUpFactors } from '/factors.js'
import { createClient } from '/tokenpair-client.js'

const $ = (selector) => document.querySelector(selector)

const client = createClient({
  baseUrl: location.origin,
  mode: 'cookie',
  // The session is bound to a key this page cannot export (DPoP): a copied cookie is worthless elsewhere.
  dpop: true,
  onSessionEnd: (event) => {
    logActivity(`Session ended (${event.reason})`)
    showSignedOut(event.reason === 'logout' ? 'Logged out.' : 'Your session has ended. Please log in again.')
  },
  onRefresh: (event) => {
    const who = event.source === 'this_tab' ? 'this tab' : 'another tab'
    logActivity(`Silent refresh by ${who}; new token expires at ${formatTime(event.accessTokenExpiresAt)}`)
  },
})

/** Shows one view (a `<section data-view>`) and hides the others. */
function showView(name) {
  for (const view of document.querySelectorAll('[data-view]')) view.hidden = view.dataset.view !== name
}

function setStatus(message, kind = 'info') {
  const status = $('#status')
  status.textContent = message
  status.dataset.kind = kind
}

function formatTime(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

function formatDuration(ms) {
  if (ms <= 0) return 'expired'
  const seconds = Math.floor(ms / 1000)
  const m = Math.floor(seconds / 60)
  const s = seconds % 60
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`
}

function logActivity(text) {
  const item = document.createElement('li')
  item.textContent = `${formatTime(new Date())} ${text}`
  const list = $('#activity')
  list.prepend(item)
  while (list.children.length > 20) list.lastElementChild.remove()
}

/** A readable message for a client error, with the field problems of a validation error. */
function describeError(error) {
  if (error?.code === 'validation_failed' && error.errors?.length) {
    return error.errors.map((e) => `${e.path}: ${e.message}`).join('; ')
  }
  if (error?.code === 'network_error') return 'The server cannot be reached.'
  return error?.message ?? String(error)
}

/** Runs a form's action with its button disabled, and reports failures in the status line. */
function handleForm(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const button = form.querySelector('button[type="submit"]')
    button.disabled = true
    try {
      await action(new FormData(form))
    } catch (error) {
      setStatus(describeError(error), 'error')
    } finally {
      button.disabled = false
    }
  })
}

function showSignedOut(message) {
  showView('signed-out')
  if (message) setStatus(message)
}

async function showSignedIn(user) {
  showView('signed-in')
  const me = user ?? (await client.me())
  renderProfile(me)
  await Promise.all([renderSessions(), renderIdentities(), factors.renderFactors(me)])
}

// ---- identity providers ----

/** What each `?error=` of a provider sign-in means, for people. */
const PROVIDER_ERRORS = {
  oidc_failed: 'The sign-in with the identity provider failed. Please try again.',
  account_exists: 'An account with this address exists. Log in, then link the provider.',
  identity_taken: 'This provider account is linked to another user.',
  email_missing: 'The identity provider gave no verified email address.',
  login_required: 'Log in first to link an identity provider.',
  account_disabled: 'This account is disabled.',
  rate_limited: 'Too many attempts; try again later.',
  forbidden: 'This sign-in is not allowed here.',
}

/** The configured providers (`GET /auth/oidc/providers`); none on a server without them. */
let providers = []

async function loadProviders() {
  try {
    providers = await client.providers.list()
  } catch {
    providers = []
  }
}

/**
 * A link that starts a provider's flow: a top-level navigation, as the redirect dance needs. It
 * names this page's DPoP key (`dpop_jkt`), so that the session the sign-in opens is bound to it.
 */
async function providerLink(provider, link) {
  const a = document.createElement('a')
  a.className = 'button'
  a.href = await client.providers.startURL(provider.name, { returnTo: '/', link })
  a.textContent = `${link ? 'Link' : 'Sign in with'} ${provider.label}`
  return a
}

async function renderProviderButtons() {
  $('#providers').hidden = providers.length === 0
  $('#provider-buttons').replaceChildren(...(await Promise.all(providers.map((p) => providerLink(p, false)))))
}

async function renderIdentities() {
  const card = $('#identities-card')
  const res = await client.fetch('/auth/identities')
  const identities = res.ok ? ((await res.json()).data ?? []) : []
  card.hidden = providers.length === 0 && identities.length === 0
  const list = $('#identities')
  list.replaceChildren()
  for (const identity of identities) {
    const item = document.createElement('li')
    const label = providers.find((p) => p.name === identity.provider)?.label ?? identity.provider
    const text = document.createElement('div')
    text.textContent = `${label}${identity.email ? ` (${identity.email})` : ''}`
    const unlink = document.createElement('button')
    unlink.type = 'button'
    unlink.className = 'danger'
    unlink.textContent = 'Unlink'
    unlink.setAttribute('aria-label', `Unlink ${label}`)
    unlink.addEventListener('click', async () => {
      const currentPassword = $('#unlink-password').value
      const answer = await client.fetch(`/auth/identities/${encodeURIComponent(identity.id)}`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(currentPassword ? { currentPassword } : {}),
      })
      const body = await answer.json()
      $('#unlink-password').value = ''
      if (!answer.ok) {
        setStatus(body.message ?? 'Could not unlink.', 'error')
        return
      }
      setStatus(`${label} unlinked.`, 'ok')
      await renderIdentities()
    })
    item.append(text, unlink)
    list.append(item)
  }
  $('#link-buttons').replaceChildren(...(await Promise.all(providers.map((p) => providerLink(p, true)))))
}

function renderProfile(user) {
  $('#profile-fullname').textContent = user.fullname
  $('#profile-username').textContent = user.username
  $('#profile-email').textContent = user.email
  $('#profile-roles').textContent = user.roles.join(', ')
  const verified = $('#profile-verified')
  // `emailVerified` is absent on servers without mail support: show nothing then.
  verified.hidden = typeof user.emailVerified !== 'boolean'
  verified.textContent = user.emailVerified ? 'verified' : 'not verified'
  verified.className = `badge ${user.emailVerified ? 'ok' : 'warn'}`
  $('#verify-request').hidden = user.emailVerified !== false
}

function describeAgent(userAgent) {
  if (!userAgent) return 'Unknown device'
  const browser = /(Edg|Firefox|Chrome|Safari)\/[\d.]+/.exec(userAgent)
  return browser ? browser[0].replace('Edg', 'Edge') : userAgent.slice(0, 40)
}

async function renderSessions() {
  const sessions = await client.sessions()
  const list = $('#sessions')
  list.replaceChildren()
  for (const session of sessions) {
    const item = document.createElement('li')
    const text = document.createElement('div')
    const name = document.createElement('div')
    name.textContent = `${describeAgent(session.userAgent)}${session.ip ? ` from ${session.ip}` : ''}`
    if (session.current) {
      const mark = document.createElement('span')
      mark.className = 'this-device'
      mark.textContent = ' (this device)'
      name.append(mark)
    }
    const meta = document.createElement('div')
    meta.className = 'session-meta'
    meta.textContent = `Signed in ${new Date(session.createdAt).toLocaleString()}, last used ${new Date(session.lastUsedAt).toLocaleString()}`
    text.append(name, meta)
    const revoke = document.createElement('button')
    revoke.type = 'button'
    revoke.className = 'danger'
    revoke.textContent = 'Revoke'
    revoke.setAttribute(
      'aria-label',
      `Revoke the session ${session.current ? 'of this device' : `signed in ${new Date(session.createdAt).toLocaleString()}`}`,
    )
    revoke.addEventListener('click', async () => {
      try {
        await client.revokeSession(session.id)
        logActivity(session.current ? 'Revoked this session' : 'Revoked a session')
        if (session.current) {
          // The access token lives on until it expires; end the local state now.
          await client.logout()
          return
        }
        setStatus('Session revoked.', 'ok')
        await renderSessions()
        $('#sessions-title').focus()
      } catch (error) {
        setStatus(describeError(error), 'error')
      }
    })
    item.append(text, revoke)
    list.append(item)
  }
}

function updateRemaining() {
  const remaining = client.getAccessTokenRemainingMs()
  $('#token-remaining').textContent = remaining === null ? '–' : formatDuration(remaining)
}

const factors = setUpFactors({
  client,
  showView,
  setStatus,
  describeError,
  logActivity,
  handleForm,
  renderSessions,
  async onSignedIn(user) {
    setStatus(`Welcome back, ${user.fullname}.`, 'ok')
    await showSignedIn(user)
    $('#profile-title').focus()
  },
})

handleForm($('#login-form'), async (data) => {
  const login = { login: data.get('login'), password: data.get('password') }
  await factors.signInWith(async () => {
    const user = await client.login(login)
    logActivity('Logged in')
    return user
  })
  $('#login-form').reset()
})

handleForm($('#register-form'), async (data) => {
  const user = await client.register({
    username: data.get('username'),
    email: data.get('email'),
    fullname: data.get('fullname'),
    password: data.get('password'),
  })
  $('#register-form').reset()
  setStatus(`Welcome, ${user.fullname}.`, 'ok')
  logActivity('Registered and logged in')
  await showSignedIn(user)
  $('#profile-title').focus()
})

handleForm($('#forgot-form'), async (data) => {
  await client.requestPasswordReset(data.get('email'))
  setStatus('If an account uses this address, a reset link is on its way.', 'ok')
})

handleForm($('#reset-form'), async (data) => {
  await client.resetPassword({ token: pendingToken, newPassword: data.get('newPassword') })
  pendingToken = ''
  history.replaceState(null, '', '/')
  showSignedOut()
  setStatus('Password changed. Log in with the new password.', 'ok')
})

handleForm($('#verify-form'), async () => {
  const user = await client.verifyEmail(pendingToken)
  pendingToken = ''
  history.replaceState(null, '', '/')
  setStatus(`Email ${user.email} confirmed.`, 'ok')
  await start()
})

$('#forgot-link').addEventListener('click', (event) => {
  event.preventDefault()
  showView('forgot')
  setStatus('')
  $('#forgot-email').focus()
})

for (const back of document.querySelectorAll('[data-back]')) {
  back.addEventListener('click', (event) => {
    event.preventDefault()
    showSignedOut('')
    $('#login-name').focus()
  })
}

$('#logout').addEventListener('click', async () => {
  try {
    await client.logout()
  } catch (error) {
    setStatus(describeError(error), 'error')
  }
})

$('#logout-all').addEventListener('click', async () => {
  try {
    const revoked = await client.logoutAll()
    setStatus(`Logged out of ${revoked} session${revoked === 1 ? '' : 's'}.`, 'ok')
  } catch (error) {
    setStatus(describeError(error), 'error')
  }
})

$('#refresh-now').addEventListener('click', async () => {
  try {
    await client.refresh()
  } catch (error) {
    setStatus(describeError(error), 'error')
  }
})

$('#verify-request').addEventListener('click', async () => {
  try {
    await client.requestEmailVerification()
    setStatus('Verification mail sent.', 'ok')
  } catch (error) {
    setStatus(describeError(error), 'error')
  }
})

for (const id of ['#profile-title', '#sessions-title']) $(id).tabIndex = -1

// A mail link's token is taken out of the address bar at once, so that it is not left in history.
let pendingToken = new URLSearchParams(location.search).get('token') ?? ''

async function start() {
  await loadProviders()
  await renderProviderButtons()
  // A provider sign-in that failed comes back with ?error=<code>: say what it means, once.
  const providerError = new URLSearchParams(location.search).get('error')
  if (providerError && location.pathname === '/') {
    history.replaceState(null, '', '/')
    setStatus(PROVIDER_ERRORS[providerError] ?? PROVIDER_ERRORS.oidc_failed, 'error')
  }
  // A user with a second factor comes back with a login ticket in the fragment: out of the
  // address bar (and history) at once, then the code step.
  if (new URLSearchParams(location.hash.slice(1)).has('mfa_token')) {
    const back = location.href
    history.replaceState(null, '', `${location.pathname}${location.search}`)
    await factors.signInWith(() => client.providers.completeSignIn(back))
    return
  }
  if (pendingToken && location.pathname === '/reset-password') {
    history.replaceState(null, '', '/reset-password')
    showView('reset')
    $('#reset-password').focus()
    return
  }
  if (pendingToken && location.pathname === '/verify-email') {
    history.replaceState(null, '', '/verify-email')
    showView('verify')
    return
  }
  try {
    // With valid cookies this signs the page in (refreshing first if the access token expired).
    await showSignedIn()
  } catch {
    showSignedOut()
  }
}

setInterval(updateRemaining, 500)
updateRemaining()
start().catch((error) => setStatus(describeError(error), 'error'))
