import { createHash, randomBytes } from 'node:crypto'
import express from 'express'
import { type Served, serve } from './serve.js'

/** A GitHub user as the stand-in's API shows it. */
export interface GitHubTestUser {
  id: number
  login: string
  name: string | null
  emails: { email: string; primary: boolean; verified: boolean }[]
}

/**
 * A loopback stand-in for the parts of GitHub a sign-in uses (GitHub itself is not reachable from
 * the tests): `/login/oauth/authorize` (answers at once, as a user who already authorised the app),
 * `/login/oauth/access_token` (client secret, single-use code, PKCE S256 checked), and the API's
 * `/user` and `/user/emails` behind the access token. Shaped as GitHub documents them.
 */
export interface GitHubStandIn {
  url: string
  clientId: string
  clientSecret: string
  /** Who the next authorization signs in as. */
  signInAs(user: GitHubTestUser): void
  close(): Promise<void>
}

export async function startGitHubStandIn(): Promise<GitHubStandIn> {
  const clientId = 'Iv1.tokenpair-test'
  const clientSecret = 'github-client-secret-0123456789'
  const codes = new Map<string, { user: GitHubTestUser; challenge: string; redirectUri: string }>()
  const tokens = new Map<string, GitHubTestUser>()
  let next: GitHubTestUser | null = null
  const app = express()
  app.get('/login/oauth/authorize', (req, res) => {
    const q = req.query as Record<string, string>
    if (q.client_id !== clientId || q.code_challenge_method !== 'S256' || !next) {
      res.status(400).send('bad request')
      return
    }
    const code = randomBytes(10).toString('hex')
    codes.set(code, { user: next, challenge: q.code_challenge!, redirectUri: q.redirect_uri! })
    const back = new URL(q.redirect_uri!)
    back.searchParams.set('code', code)
    back.searchParams.set('state', q.state!)
    res.redirect(302, back.href)
  })
  app.post('/login/oauth/access_token', express.urlencoded({ extended: false }), (req, res) => {
    const body = req.body as Record<string, string>
    const grant = codes.get(body.code ?? '')
    codes.delete(body.code ?? '')
    const verifier = createHash('sha256')
      .update(body.code_verifier ?? '')
      .digest('base64url')
    // GitHub answers errors with 200 and an `error` member; the stand-in does the same.
    if (
      body.client_id !== clientId ||
      body.client_secret !== clientSecret ||
      !grant ||
      grant.redirectUri !== body.redirect_uri ||
      verifier !== grant.challenge
    ) {
      res.json({
        error: 'bad_verification_code',
        error_description: 'The code passed is incorrect or expired.',
      })
      return
    }
    const token = `gho_${randomBytes(16).toString('hex')}`
    tokens.set(token, grant.user)
    res.json({ access_token: token, token_type: 'bearer', scope: 'read:user,user:email' })
  })
  const userOf = (req: express.Request) =>
    tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''))
  app.get('/user', (req, res) => {
    const user = userOf(req)
    if (!user) res.status(401).json({ message: 'Bad credentials' })
    else res.json({ id: user.id, login: user.login, name: user.name })
  })
  app.get('/user/emails', (req, res) => {
    const user = userOf(req)
    if (!user) res.status(401).json({ message: 'Bad credentials' })
    else res.json(user.emails)
  })
  const served: Served = await serve(app)
  return {
    url: served.url,
    clientId,
    clientSecret,
    signInAs(user) {
      next = user
    },
    close: () => served.close(),
  }
}
