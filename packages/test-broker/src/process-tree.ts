import { readdirSync, readFileSync } from 'node:fs'

/** A process identified by pid AND start time, so a recycled pid is never killed by mistake. */
export interface ProcessRef {
  pid: number
  startTime: string
  comm: string
}

interface Stat extends ProcessRef {
  ppid: number
  state: string
}

function readStat(pid: number): Stat | undefined {
  let raw: string
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (comm) state ppid pgrp ... starttime(22nd field)"; comm may contain spaces and parentheses
  const open = raw.indexOf('(')
  const close = raw.lastIndexOf(')')
  const fields = raw.slice(close + 2).split(' ')
  return {
    pid,
    comm: raw.slice(open + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    startTime: fields[19] ?? '',
  }
}

/** True when the process exists, is not a zombie and its pid was not recycled since the snapshot. */
export function isSameProcessAlive(proc: ProcessRef): boolean {
  const stat = readStat(proc.pid)
  return stat !== undefined && stat.startTime === proc.startTime && stat.state !== 'Z' && stat.state !== 'X'
}

/** The process and all its descendants (via /proc), synchronously. Linux only; empty elsewhere. */
export function processTree(rootPid: number): ProcessRef[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  const children = new Map<number, Stat[]>()
  let root: Stat | undefined
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(Number(entry))
    if (!stat) continue
    if (stat.pid === rootPid) root = stat
    const siblings = children.get(stat.ppid) ?? []
    siblings.push(stat)
    children.set(stat.ppid, siblings)
  }
  if (!root) return []
  const result: ProcessRef[] = []
  const queue: Stat[] = [root]
  for (let next = queue.shift(); next; next = queue.shift()) {
    result.push({ pid: next.pid, startTime: next.startTime, comm: next.comm })
    queue.push(...(children.get(next.pid) ?? []))
  }
  return result
}

/** SIGKILLs each process that still is the same process (same start time). Never kills epmd, which is shared. */
export function killProcesses(processes: readonly ProcessRef[]): void {
  for (const proc of processes) {
    if (proc.comm === 'epmd') continue
    const now = readStat(proc.pid)
    if (!now || now.startTime !== proc.startTime) continue
    try {
      process.kill(proc.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** SIGKILLs a whole process group; ignores a group that no longer exists. */
export function killGroup(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) return
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // already gone
  }
}
