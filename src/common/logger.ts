/** The few logger methods tokenpair calls (pino's shape). */
export interface AuthLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** A logger that drops everything: the default where none is given. */
export const SILENT_LOGGER: AuthLogger = Object.freeze({ info() {}, warn() {}, error() {} })

/**
 * An error as a log line may hold it: its name, message and stack only, never its own fields,
 * which may carry a request body or a driver's parameters.
 */
export function describeErrorForLog(error: unknown): { name?: string; message: string; stack?: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
    : { message: String(error) }
}
