import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { recoveryCodesSchema, tokenResponseSchema, totpSetupSchema } from '../protocol/wire-schemas.js'
import {
  mfaVerifySchema,
  reauthenticationSchema,
  totpConfirmSchema,
  totpDisableSchema,
} from '../users/factor-schemas.js'
import {
  mfaVerifyHandler,
  recoveryCodesHandler,
  totpConfirmHandler,
  totpDisableHandler,
  totpSetupHandler,
} from './handlers/mfa.js'
import { defineRoute, type RouteRow } from './route-table.js'

/** The second factor's rows of the auth router: TOTP, recovery codes and the login's second step. */
export const MFA_ROUTES: readonly RouteRow<Engine>[] = [
  defineRoute({
    method: 'post',
    path: '/mfa/totp/setup',
    auth: 'access',
    summary: 'Start TOTP: a pending secret and its QR code (needs currentPassword)',
    body: reauthenticationSchema,
    data: totpSetupSchema,
    status: 200,
    handler: totpSetupHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/mfa/totp/confirm',
    auth: 'access',
    summary: 'Turn TOTP on with a code of the pending secret; answers the recovery codes once',
    body: totpConfirmSchema,
    data: recoveryCodesSchema,
    status: 200,
    handler: totpConfirmHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/mfa/totp/disable',
    auth: 'access',
    summary: 'Turn TOTP off (needs currentPassword and a TOTP or recovery code)',
    body: totpDisableSchema,
    data: z.null(),
    status: 200,
    handler: totpDisableHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/mfa/recovery-codes',
    auth: 'access',
    summary: 'New recovery codes; the old ones stop working (needs currentPassword)',
    body: reauthenticationSchema,
    data: recoveryCodesSchema,
    status: 200,
    handler: recoveryCodesHandler,
  }),
  defineRoute({
    method: 'post',
    path: '/mfa/verify',
    auth: 'none',
    summary: 'Complete a login that answered mfa_required, with a TOTP or a recovery code',
    body: mfaVerifySchema,
    data: tokenResponseSchema,
    status: 200,
    handler: mfaVerifyHandler,
  }),
]
