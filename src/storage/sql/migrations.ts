import {
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from 'kysely'
import { DEFAULT_TABLE_PREFIX } from '../table-prefix.js'
import type { Database } from './schema.js'
import type { SQLTraits } from './sql-traits.js'
import { withTablePrefix } from './table-prefix-plugin.js'

/* Migrations are code, not files, so that they ship inside the package and need no loader. Each
 * one is additive: a new release adds a migration and never edits an old one. */

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists.
type AnyDB = Kysely<any>

function initialSchema(traits: SQLTraits): Migration {
  const ci = traits.caseInsensitiveColumn
  const time = traits.timeType
  // The user's name and address: unique, and case-insensitive where a column can say so.
  const uniqueName = (c: ColumnDefinitionBuilder) => {
    const col = c.notNull().unique()
    return ci ? col.modifyEnd(ci) : col
  }
  return {
    async up(db: AnyDB) {
      await db.schema
        .createTable('tp_users')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('username', 'varchar(30)', uniqueName)
        .addColumn('email', 'varchar(254)', uniqueName)
        .addColumn('fullname', 'varchar(100)', (c) => c.notNull())
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('roles', 'varchar(1000)', (c) => c.notNull())
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute()
      if (traits.lowerCaseUniqueIndex) {
        for (const column of ['username', 'email'] as const) {
          await db.schema
            .createIndex(`tp_users_${column}_lower`)
            .on('tp_users')
            .unique()
            .expression(sql.raw(`lower(${column})`))
            .execute()
        }
      }

      await db.schema
        .createTable('tp_sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('idle_expires_at', time, (c) => c.notNull())
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('ip', 'varchar(64)')
        .addColumn('revoked_at', time)
        .addColumn('revoked_reason', 'varchar(32)')
        .execute()
      await db.schema
        .createIndex('tp_sessions_user')
        .on('tp_sessions')
        .columns(['user_id', 'created_at'])
        .execute()
      await db.schema.createIndex('tp_sessions_idle').on('tp_sessions').column('idle_expires_at').execute()

      await db.schema
        .createTable('tp_refresh_tokens')
        .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
        .addColumn('session_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('parent_jti', 'varchar(64)')
        .addColumn('issued_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute()
      await db.schema
        .createIndex('tp_refresh_tokens_session')
        .on('tp_refresh_tokens')
        .column('session_id')
        .execute()
      await db.schema
        .createIndex('tp_refresh_tokens_expires')
        .on('tp_refresh_tokens')
        .column('expires_at')
        .execute()

      await db.schema
        .createTable('tp_signing_keys')
        .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('alg', 'varchar(16)', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('rotated_at', time)
        .addColumn('retired_at', time)
        .execute()
    },
  }
}

function emailTokens(traits: SQLTraits): Migration {
  const time = traits.timeType
  return {
    async up(db: AnyDB) {
      await db.schema
        .createTable('tp_email_tokens')
        .addColumn('token_hash', 'char(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute()
      await db.schema
        .createIndex('tp_email_tokens_user')
        .on('tp_email_tokens')
        .columns(['user_id', 'purpose'])
        .execute()
      await db.schema
        .createIndex('tp_email_tokens_expires')
        .on('tp_email_tokens')
        .column('expires_at')
        .execute()
    },
  }
}

/**
 * One lineage per session: a used token keeps the successor it was rotated into, sealed under a
 * key derived from itself, so that a grace answer repeats that successor rather than minting a
 * branch (docs/security.md, "One lineage per session").
 */
function lineage(): Migration {
  return {
    async up(db: AnyDB) {
      await db.schema.alterTable('tp_refresh_tokens').addColumn('successor_jti', 'varchar(64)').execute()
      await db.schema.alterTable('tp_refresh_tokens').addColumn('successor_sealed', 'text').execute()
    },
  }
}

/**
 * Usernames and addresses compared exactly where the column's collation would fold more than
 * case (MySQL/MariaDB's `utf8mb4_general_ci` makes `alicé` equal `alice`): the columns become
 * binary, and unique indexes on stored `lower()` columns keep names unique whatever their case.
 */
function exactNames(traits: SQLTraits): Migration {
  return {
    async up(db: AnyDB) {
      if (!traits.exactNameMigration) return
      // Names through sql.table and sql.id, so that the table prefix reaches them (table-prefix-plugin.ts).
      await sql`alter table ${sql.table('tp_users')}
            modify username varchar(30) character set utf8mb4 collate utf8mb4_bin not null,
            modify email varchar(254) character set utf8mb4 collate utf8mb4_bin not null,
            add column username_key varchar(30) character set utf8mb4 collate utf8mb4_bin
              as (lower(username)) stored,
            add column email_key varchar(254) character set utf8mb4 collate utf8mb4_bin
              as (lower(email)) stored,
            add unique index ${sql.id('tp_users_username_lower')} (username_key),
            add unique index ${sql.id('tp_users_email_lower')} (email_key)`.execute(db)
    },
  }
}

/**
 * The second factor: TOTP factors (sealed secrets, the last accepted step), recovery codes (hashes),
 * passkeys, challenges (login tickets and WebAuthn challenges), the user's factor summary, and the
 * authentication (`amr`, `auth_time`) each session's tokens carry.
 */
function secondFactor(traits: SQLTraits): Migration {
  const time = traits.timeType
  return {
    async up(db: AnyDB) {
      await db.schema
        .alterTable('tp_users')
        .addColumn('mfa_totp', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema
        .alterTable('tp_users')
        .addColumn('mfa_passkeys', 'integer', (c) => c.notNull().defaultTo(0))
        .execute()
      await db.schema.alterTable('tp_sessions').addColumn('auth_time', time).execute()
      await db.schema.alterTable('tp_sessions').addColumn('amr', 'varchar(200)').execute()

      await db.schema
        .createTable('tp_totp_factors')
        .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('secret', 'varchar(255)')
        .addColumn('enabled_at', time)
        .addColumn('pending_secret', 'varchar(255)')
        .addColumn('pending_created_at', time)
        .addColumn('last_step', time)
        .execute()

      await db.schema
        .createTable('tp_recovery_codes')
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('code_hash', 'char(64)', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .addPrimaryKeyConstraint('tp_recovery_codes_pk', ['user_id', 'code_hash'])
        .execute()

      await db.schema
        .createTable('tp_passkeys')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        // Credential ids run to 1023 bytes: too long for a unique index on every database, so
        // the index is on their SHA-256.
        .addColumn('credential_key', 'char(64)', (c) => c.notNull().unique())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', time, (c) => c.notNull())
        .addColumn('transports', 'varchar(255)', (c) => c.notNull())
        .addColumn('device_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('name', 'varchar(100)', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .execute()
      await db.schema
        .createIndex('tp_passkeys_user')
        .on('tp_passkeys')
        .columns(['user_id', 'created_at'])
        .execute()

      await db.schema
        .createTable('tp_challenges')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)')
        .addColumn('challenge', 'varchar(128)')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute()
      await db.schema.createIndex('tp_challenges_expires').on('tp_challenges').column('expires_at').execute()
    },
  }
}

/**
 * Provider accounts linked to users (sign-in with an identity provider). The unique key is a hash
 * of issuer and subject rather than the two columns: a subject is case-sensitive, and a hash is
 * compared exactly under every collation (MySQL's default folds case) and fits any index.
 */
function identities(traits: SQLTraits): Migration {
  const time = traits.timeType
  return {
    async up(db: AnyDB) {
      await db.schema
        .createTable('tp_identities')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('identity_key', 'char(64)', (c) => c.notNull().unique())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('provider', 'varchar(32)', (c) => c.notNull())
        .addColumn('issuer', 'varchar(255)', (c) => c.notNull())
        .addColumn('subject', 'varchar(255)', (c) => c.notNull())
        .addColumn('email', 'varchar(254)')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('tp_identities_user')
        .on('tp_identities')
        .columns(['user_id', 'created_at'])
        .execute()
    },
  }
}

/**
 * Revoked sessions found by the time they ended (the revocation feed reads them that way), and
 * the DPoP key thumbprint of a bound session (the session list shows `bound`).
 */
function revokedIndex(): Migration {
  return {
    async up(db: AnyDB) {
      await db.schema.createIndex('tp_sessions_revoked').on('tp_sessions').column('revoked_at').execute()
      await db.schema.alterTable('tp_sessions').addColumn('dpop_jkt', 'varchar(64)').execute()
    },
  }
}

/**
 * The app's metadata on a user, as JSON text (the domain bounds it to 4 KiB). Nullable, so that
 * no database needs a default on a text column (MySQL refuses one before 8.0.13): `null` reads
 * as `{}`.
 */
function userMetadata(): Migration {
  return {
    async up(db: AnyDB) {
      await db.schema.alterTable('tp_users').addColumn('metadata', 'text').execute()
    },
  }
}

/** Every migration, in order. Names sort in the order they run. */
export function sqlMigrations(traits: SQLTraits): Record<string, Migration> {
  return {
    '0001_initial': initialSchema(traits),
    '0002_email_tokens': emailTokens(traits),
    '0003_lineage': lineage(),
    '0004_exact_names': exactNames(traits),
    '0006_second_factor': secondFactor(traits),
    '0007_revoked_index': revokedIndex(),
    '0008_identities': identities(traits),
    '0009_user_metadata': userMetadata(),
  }
}

/**
 * Runs pending migrations; Kysely's migrator locks so that several processes may call it at once.
 * `db` is the storage's Kysely without the table-prefix plugin: the migrator's own two tables
 * are named here, and each migration gets `db` with the plugin.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  traits: SQLTraits,
  tablePrefix: string = DEFAULT_TABLE_PREFIX,
): Promise<void> {
  const migrations = sqlMigrations(traits)
  for (const [name, migration] of Object.entries(migrations)) {
    migrations[name] = { up: (on: AnyDB) => migration.up(withTablePrefix(on, tablePrefix)) }
  }
  const provider: MigrationProvider = { getMigrations: async () => migrations }
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: `${tablePrefix}migrations`,
    migrationLockTableName: `${tablePrefix}migrations_lock`,
  })
  const { error } = await migrator.migrateToLatest()
  if (error) throw error
}
