import { execFile } from 'node:child_process'
import { type BrokerRuntime, rabbitmqCommand } from './runtime.js'

export interface RunRabbitmqctlOptions {
  /** Which install runs the CLI (chroot for 4.x). */
  runtime: BrokerRuntime
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
export function runRabbitmqctl(args: readonly string[], options: RunRabbitmqctlOptions): Promise<string> {
  const [command, commandArgs] = rabbitmqCommand(options.runtime, 'rabbitmqctl', args)
  return new Promise((resolve, reject) => {
    execFile(
      command,
      commandArgs,
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
