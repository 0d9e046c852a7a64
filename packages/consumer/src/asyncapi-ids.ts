// AsyncAPI component keys must match this; channel and operation keys follow it too, so every key is a valid
// JSON pointer segment as it is (no `/` or `~` to escape in the $refs).
const NOT_ALLOWED = /[^a-zA-Z0-9._-]/g

/** Keys for one document: readable (the name, disallowed characters as `_`), unique, the same for the same name. */
export class DocumentIds {
  readonly #byName = new Map<string, string>()
  readonly #taken = new Set<string>()

  /** The key of a (non-empty) `name` in its kind (`kind` keeps a queue and a route of the same name apart). */
  take(kind: string, name: string): string {
    const known = this.#byName.get(`${kind}\0${name}`)
    if (known !== undefined) return known
    const base = name.replace(NOT_ALLOWED, '_')
    let id = base
    for (let n = 2; this.#taken.has(id); n += 1) id = `${base}_${n}`
    this.#taken.add(id)
    this.#byName.set(`${kind}\0${name}`, id)
    return id
  }
}
