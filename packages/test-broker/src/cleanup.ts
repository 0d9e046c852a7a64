import { type ChildProcess, spawn } from 'node:child_process'
import { basename } from 'node:path'

export interface EmergencyCleanup {
  /** Must be synchronous: it runs inside process.on('exit'). */
  emergencyCleanup(): void
}

// Cleanup only, not state: the set exists solely so that a process 'exit' handler can, synchronously, SIGKILL
// the processes and remove the temp dirs of nodes a test forgot (or failed) to dispose. Nothing else reads it.
const liveNodes = new Set<EmergencyCleanup>()
let exitHookInstalled = false

export function registerLive(node: EmergencyCleanup): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const live of liveNodes) live.emergencyCleanup()
    })
  }
  liveNodes.add(node)
}

export function unregisterLive(node: EmergencyCleanup): void {
  liveNodes.delete(node)
}

/**
 * A tiny `sh` that SIGKILLs the process group `pgid`, then removes dataDir, as soon as this Node process is
 * gone, however it went (also SIGKILL, or a signal that skips 'exit' handlers): it blocks reading a pipe whose
 * only writer is us, and the read returns when the kernel closes our end. The caller SIGKILLs the watchdog
 * when the group exits normally.
 */
export function spawnWatchdog(pgid: number, dataDir: string): ChildProcess {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`refusing to guard process group ${pgid}`)
  if (!basename(dataDir).startsWith('test-broker-')) throw new Error(`refusing to ever remove ${dataDir}`)
  const script = 'while read -r _line; do :; done; kill -9 -"$1" 2>/dev/null; sleep 1; rm -rf -- "$2"'
  const watchdog = spawn('/bin/sh', ['-c', script, 'test-broker-watchdog', String(pgid), dataDir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  watchdog.on('error', () => {})
  watchdog.stdin?.on('error', () => {})
  watchdog.unref()
  // the pipe must not keep the event loop alive either
  ;(watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.()
  return watchdog
}
