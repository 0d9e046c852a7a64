/** A one-line progress bar on a TTY; elsewhere a line every 10%. Writes to stderr. */
export class ProgressBar {
  readonly #label: string
  readonly #total: number
  readonly #tty: boolean
  readonly #started = Date.now()
  #lastDecile = -1
  #lastDraw = 0

  constructor(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label
    this.#total = Math.max(total, 1)
    this.#tty = stream.isTTY === true
  }

  update(done: number, extra = ''): void {
    const ratio = Math.min(done / this.#total, 1)
    const elapsed = (Date.now() - this.#started) / 1000
    const rate = elapsed > 0 ? Math.round(done / elapsed) : 0
    const line = `${this.#label} ${this.#bar(ratio)} ${done}/${this.#total} ${rate}/s ${extra}`.trimEnd()
    if (this.#tty) {
      // Redraw at most every 50 ms; always draw the last state.
      if (done < this.#total && Date.now() - this.#lastDraw < 50) return
      this.#lastDraw = Date.now()
      process.stderr.write(`\r\x1b[2K${line}`)
      return
    }
    const decile = Math.floor(ratio * 10)
    if (decile === this.#lastDecile) return
    this.#lastDecile = decile
    process.stderr.write(`${line}\n`)
  }

  finish(): void {
    if (this.#tty) process.stderr.write('\n')
  }

  #bar(ratio: number): string {
    const width = 30
    const full = Math.round(ratio * width)
    return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`
  }
}
