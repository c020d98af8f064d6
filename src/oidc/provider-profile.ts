/** What tokenpair keeps of a person a provider authenticated: the key, and what a new account needs. */
export interface ProviderProfile {
  /** The configured provider's name. */
  provider: string
  /** The provider's `iss` (GitHub: its web origin). With `subject`, the identity's key. */
  issuer: string
  /** The provider's `sub` (GitHub: the numeric user id, as text). */
  subject: string
  /** The address the provider gave, or `null`. */
  email: string | null
  /** Whether the provider says it verified `email`. */
  emailVerified: boolean
  /** A name to derive the username from (`preferred_username`, GitHub's `login`), or `null`. */
  username: string | null
  /** The person's name (`name`), or `null`. */
  fullname: string | null
}
