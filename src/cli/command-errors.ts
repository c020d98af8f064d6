/** Exit codes of the CLI. */
export const EXIT_OK = 0
/** The command ran and failed (no such user, a refused value, an unreachable database). */
export const EXIT_FAILURE = 1
/** The command line itself is wrong (unknown command or option, missing argument). */
export const EXIT_USAGE = 2

/** A wrong command line: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/** A command that ran and failed for a reason the operator must hear: exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}
