import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Database } from './schema.js'
import { TablePrefixPlugin, withTablePrefix } from './table-prefix-plugin.js'

// A Kysely that only compiles: the plugin's work is the SQL text.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})
const prefixed = db.withPlugin(new TablePrefixPlugin('app_auth_'))

describe('TablePrefixPlugin', () => {
  it('renames tables in from, joins, column references and CTE bodies, and nothing else', () => {
    const query = prefixed
      .with('won', (qb) => qb.updateTable('tp_refresh_tokens').set({ used_at: 1 }).returning('jti'))
      .selectFrom('tp_sessions')
      .innerJoin('tp_users as u', 'u.id', 'tp_sessions.user_id')
      .select(['tp_sessions.id', 'u.username'])
      .where('tp_sessions.id', 'in', (eb) => eb.selectFrom('won').select('jti'))
      .compile()
    expect(query.sql).toBe(
      'with "won" as (update "app_auth_refresh_tokens" set "used_at" = $1 returning "jti") ' +
        'select "app_auth_sessions"."id", "u"."username" from "app_auth_sessions" ' +
        'inner join "app_auth_users" as "u" on "u"."id" = "app_auth_sessions"."user_id" ' +
        'where "app_auth_sessions"."id" in (select "jti" from "won")',
    )
  })

  it('renames index and constraint names, and the names a raw statement passes as nodes', () => {
    const index = prefixed.schema.createIndex('tp_sessions_user').on('tp_sessions').column('user_id')
    expect(index.compile().sql).toBe(
      'create index "app_auth_sessions_user" on "app_auth_sessions" ("user_id")',
    )
    const table = prefixed.schema
      .createTable('tp_recovery_codes')
      .addColumn('user_id', 'varchar(64)')
      .addPrimaryKeyConstraint('tp_recovery_codes_pk', ['user_id'])
    expect(table.compile().sql).toBe(
      'create table "app_auth_recovery_codes" ("user_id" varchar(64), ' +
        'constraint "app_auth_recovery_codes_pk" primary key ("user_id"))',
    )
    const raw = sql`alter table ${sql.table('tp_users')} add unique index ${sql.id('tp_users_email_lower')} (email_key)`
    expect(raw.compile(prefixed).sql).toBe(
      'alter table "app_auth_users" add unique index "app_auth_users_email_lower" (email_key)',
    )
  })

  it('leaves the default prefix alone, without a plugin', () => {
    expect(withTablePrefix(db, 'tp_')).toBe(db)
    expect(withTablePrefix(db).selectFrom('tp_users').selectAll().compile().sql).toBe(
      'select * from "tp_users"',
    )
  })
})
