import {
  type IdentifierNode,
  type Kysely,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely'
import { DEFAULT_TABLE_PREFIX } from '../table-prefix.js'

/*
 * The SQL of the adapters names its tables, indexes and constraints with the default prefix `tp_`
 * (and schema.ts types them so). One transformer renames them all on the way to the driver, so
 * that no query, migration or raw statement builds a name of its own. No column or alias of ours
 * starts with `tp_`; raw statements name tables with `sql.table` and indexes with `sql.id`, which
 * reach the transformer as nodes.
 */
class TablePrefixTransformer extends OperationNodeTransformer {
  readonly #prefix: string

  constructor(prefix: string) {
    super()
    this.#prefix = prefix
  }

  protected override transformIdentifier(node: IdentifierNode): IdentifierNode {
    if (!node.name.startsWith(DEFAULT_TABLE_PREFIX)) return node
    return Object.freeze({ ...node, name: this.#prefix + node.name.slice(DEFAULT_TABLE_PREFIX.length) })
  }
}

/**
 * A Kysely plugin that gives tokenpair's tables, indexes and constraints `prefix` instead of
 * `tp_` (a checked prefix: see `checkTablePrefix`).
 *
 * @example
 * ```ts
 * const prefixed = db.withPlugin(new TablePrefixPlugin('auth_')) // tp_users → auth_users
 * ```
 */
export class TablePrefixPlugin implements KyselyPlugin {
  readonly #transformer: TablePrefixTransformer

  constructor(prefix: string) {
    this.#transformer = new TablePrefixTransformer(prefix)
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId)
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

/** `db` with its tables under `prefix`: `db` itself for the default `tp_` (or none). */
export function withTablePrefix<DB>(db: Kysely<DB>, prefix: string = DEFAULT_TABLE_PREFIX): Kysely<DB> {
  return prefix === DEFAULT_TABLE_PREFIX ? db : db.withPlugin(new TablePrefixPlugin(prefix))
}
