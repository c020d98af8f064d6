/*
 * The code of the thread that owns an SQLite file's connections (sqlite-group-commit.ts), as
 * plain JavaScript run with `new Worker(code, { eval: true })`: no file to find next to the
 * compiled module, so it runs the same from dist/, from TypeScript sources and from a bundle.
 *
 * Two connections to the file: `writer`, which holds one open transaction (BEGIN IMMEDIATE) per
 * batch, each unit of work in a savepoint of its own, and `reader`, which answers the reads made
 * outside a unit that the event loop's own reader could not (WAL: readers never wait for the
 * writer). Messages are handled in order; the main thread decides when a batch commits.
 *
 * In:  { id?, op: 'query', on: 'writer' | 'reader', sql, parameters, begin? }   one statement
 *      { id, op: 'unit', statements: [{ sql, parameters }], guarded }   a whole unit, in a
 *        savepoint; guarded: a first statement that changes no row undoes it (answer null)
 *      { op: 'release' }                          the current unit is done (no answer)
 *      { id, op: 'rollback' }                     undoes the current unit only
 *      { id, op: 'commit' }                       makes the batch durable (one fsync)
 *      { id, op: 'close' }
 * Out: { id, ok: true, result } | { id, ok: false, error: { message, code } }; a unit's result
 *      is the list of its statements' results
 */
export const SQLITE_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driverPath)

function open(readonly) {
  const db = new Database(workerData.path, { readonly, fileMustExist: readonly })
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
  if (!readonly) db.pragma('journal_mode = WAL')
  // FULL: a batch that was acknowledged survives a power cut.
  db.pragma('synchronous = FULL')
  return db
}

const writer = open(false)
let reader = null
const statements = { writer: new Map(), reader: new Map() }
// A failure that the open batch cannot survive (a savepoint that could not be released).
let batchError = null

function prepare(on, sql) {
  const cache = statements[on]
  let statement = cache.get(sql)
  if (statement === undefined) {
    if (on === 'reader' && reader === null) reader = open(true)
    statement = (on === 'reader' ? reader : writer).prepare(sql)
    if (cache.size >= 500) cache.delete(cache.keys().next().value)
    cache.set(sql, statement)
  }
  return statement
}

function run(on, sql, parameters) {
  const statement = prepare(on, sql)
  if (statement.reader) return { rows: statement.all(parameters) }
  const { changes, lastInsertRowid } = statement.run(parameters)
  return { rows: [], changes, lastInsertRowid }
}

function beginUnit() {
  if (!writer.inTransaction) {
    batchError = null
    writer.exec('BEGIN IMMEDIATE')
  }
  writer.exec('SAVEPOINT tp_unit')
}

function undoUnit() {
  if (!writer.inTransaction) return
  writer.exec('ROLLBACK TO tp_unit')
  writer.exec('RELEASE tp_unit')
}

function describe(error) {
  return { message: String(error && error.message), code: error && typeof error.code === 'string' ? error.code : '' }
}

function handle(message) {
  switch (message.op) {
    case 'query':
      if (message.begin) beginUnit()
      return run(message.on, message.sql, message.parameters)
    case 'unit': {
      beginUnit()
      try {
        const results = []
        for (const statement of message.statements) {
          const result = run('writer', statement.sql, statement.parameters)
          if (message.guarded && results.length === 0 && result.changes === 0) {
            undoUnit()
            return null
          }
          results.push(result)
        }
        writer.exec('RELEASE tp_unit')
        return results
      } catch (error) {
        undoUnit()
        throw error
      }
    }
    case 'release':
      writer.exec('RELEASE tp_unit')
      return null
    case 'rollback':
      undoUnit()
      return null
    case 'commit': {
      if (!writer.inTransaction) {
        if (batchError !== null) throw batchError
        return null
      }
      if (batchError !== null) {
        writer.exec('ROLLBACK')
        throw batchError
      }
      try {
        writer.exec('COMMIT')
      } catch (error) {
        if (writer.inTransaction) writer.exec('ROLLBACK')
        throw error
      }
      return null
    }
    case 'close':
      if (writer.inTransaction) writer.exec('ROLLBACK')
      writer.close()
      if (reader !== null) reader.close()
      return null
  }
  throw new Error('unknown message ' + message.op)
}

parentPort.on('message', (message) => {
  let reply
  try {
    reply = { id: message.id, ok: true, result: handle(message) }
  } catch (error) {
    if (message.op === 'release' && batchError === null) batchError = error
    reply = { id: message.id, ok: false, error: describe(error) }
  }
  if (message.id !== undefined) parentPort.postMessage(reply)
  if (message.op === 'close') parentPort.close()
})
parentPort.postMessage({ ready: true })
`
