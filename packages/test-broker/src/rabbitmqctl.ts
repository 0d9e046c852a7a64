import { execFile } from 'node:child_process'

/** Where Debian's rabbitmq-server package keeps the real scripts (the /usr/sbin ones switch user first). */
export const RABBITMQ_BIN_DIR = '/usr/lib/rabbitmq/bin'

export interface RunRabbitmqctlOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  uid?: number
  gid?: number
  /** Kill the CLI after this long; default 60s. */
  timeoutMs?: number
}

export interface RabbitmqctlError extends Error {
  stdout: string
  stderr: string
  exitCode: number | string | null
}

/** Runs rabbitmqctl with the given arguments (no shell) and resolves its stdout; rejects with stderr on failure. */
export function runRabbitmqctl(args: readonly string[], options: RunRabbitmqctlOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      `${RABBITMQ_BIN_DIR}/rabbitmqctl`,
      [...args],
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        uid: options.uid,
        gid: options.gid,
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout)
          return
        }
        const detail = (stderr.trim() || stdout.trim() || error.message).slice(0, 2000)
        const failure = new Error(
          `rabbitmqctl ${args.join(' ')} failed (${error.killed ? 'timed out' : `exit code ${error.code}`}): ${detail}`
        ) as RabbitmqctlError
        failure.stdout = stdout
        failure.stderr = stderr
        failure.exitCode = error.code ?? null
        reject(failure)
      }
    )
  })
}
