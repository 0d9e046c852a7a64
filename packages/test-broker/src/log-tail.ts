import { readFileSync } from 'node:fs'

/** The last `lines` lines of a log file, for error messages; '(no log)' when it cannot be read. */
export function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
