/** The few logger methods tokenpair calls (pino's shape). */
export interface AuthLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** A logger that drops everything: the default where none is given. */
export const SILENT_LOGGER: AuthLogger = Object.freeze({ info() {}, warn() {}, error() {} })
