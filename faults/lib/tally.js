/**
 * The counts of one scenario. An order is identified end to end by its id: the HTTP client makes
 * it, the route publishes with messageId = id, stage 1 publishes onward with the same messageId,
 * and the final consumer records arrivals by messageId.
 */
export class Tally {
  published = 0
  confirmed = new Set()
  rejected = new Set()
  rejectedBy = {}
  /** messageId -> deliveries seen by the final consumer. */
  arrivals = new Map()
  /** messageId -> stage-1 handler runs that published onward (a rerun after a fault shows here first). */
  stage1Runs = new Map()
  redeliveredArrivals = 0
  #watchers = []

  recordResult(id, status) {
    if (status === 202) {
      this.confirmed.add(id)
      this.#notify('confirm')
    } else {
      this.rejected.add(id)
      this.rejectedBy[status] = (this.rejectedBy[status] ?? 0) + 1
    }
  }

  recordStage1(id) {
    this.stage1Runs.set(id, (this.stage1Runs.get(id) ?? 0) + 1)
  }

  recordArrival(id, redelivered = false) {
    this.arrivals.set(id, (this.arrivals.get(id) ?? 0) + 1)
    if (redelivered) this.redeliveredArrivals += 1
    this.#notify('arrival')
  }

  /** Confirmed orders not seen (yet) by the final consumer. */
  missing() {
    const out = []
    for (const id of this.confirmed) if (!this.arrivals.has(id)) out.push(id)
    return out
  }

  /**
   * Resolves with the time traffic flows again after `since`: a 202 and a final arrival both seen
   * after it (the later of the two). Rejects after `timeout` ms.
   */
  flowAfter(since, timeout) {
    return new Promise((resolve, reject) => {
      const watcher = { since, confirm: null, arrival: null, resolve, reject, timer: null }
      watcher.timer = setTimeout(() => {
        this.#watchers = this.#watchers.filter((w) => w !== watcher)
        reject(
          new Error(
            `traffic did not flow again within ${timeout} ms (202 seen: ${watcher.confirm !== null}, final arrival seen: ${watcher.arrival !== null})`
          )
        )
      }, timeout)
      this.#watchers.push(watcher)
    })
  }

  #notify(kind) {
    if (this.#watchers.length === 0) return
    const now = Date.now()
    for (const watcher of this.#watchers) {
      if (now < watcher.since || watcher[kind] !== null) continue
      watcher[kind] = now
      if (watcher.confirm !== null && watcher.arrival !== null) {
        clearTimeout(watcher.timer)
        watcher.resolve(Math.max(watcher.confirm, watcher.arrival))
      }
    }
    this.#watchers = this.#watchers.filter((w) => w.confirm === null || w.arrival === null)
  }

  summary() {
    let duplicated = 0
    for (const n of this.arrivals.values()) duplicated += n - 1
    let stage1Reruns = 0
    for (const n of this.stage1Runs.values()) stage1Reruns += n - 1
    let rejectedButArrived = 0
    for (const id of this.rejected) if (this.arrivals.has(id)) rejectedButArrived += 1
    return {
      published: this.published,
      confirmed: this.confirmed.size,
      rejected: this.rejected.size,
      consumed: this.arrivals.size,
      lost: this.missing().length,
      duplicated,
      redelivered: this.redeliveredArrivals,
      stage1Reruns,
      rejectedButArrived,
      rejectedBy: { ...this.rejectedBy },
    }
  }
}
