/** A delivery's headers as the library reads them: own entries only, plain objects all the way down. */
export type Headers = Record<string, unknown>

const rebuilt = new WeakMap<object, Headers>()

/**
 * The headers of a delivery (its `properties`), rebuilt once and then reused: a plain object holding only
 * the table's own enumerable entries, nested tables likewise. amqplib decodes a field table with
 * `fields[key] = value`, so a header named `__proto__` holding a table becomes the headers' prototype
 * (`headers['x-attempt']` would read an inherited value); here no prototype but Object.prototype is left,
 * and no `__proto__` key is kept (`Object.assign` into another object would make it that object's prototype).
 * Every read of a header by the library goes through this, and it is what handlers see as `message.headers`.
 */
export function headersOf(properties: { headers?: unknown }): Headers {
  let headers = rebuilt.get(properties)
  if (headers === undefined) {
    const raw = properties.headers
    headers = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? table(raw) : {}
    rebuilt.set(properties, headers)
  }
  return headers
}

/** One header, read as an own property only (Object.prototype is never consulted). */
export function header(headers: Headers, name: string): unknown {
  return Object.hasOwn(headers, name) ? headers[name] : undefined
}

// One stack frame a level: amqplib's decoder, which built the value, took more per level.
function own(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return value
  if (Array.isArray(value)) return value.map(own)
  return table(value)
}

function table(value: object): Headers {
  const out: Headers = {}
  for (const [key, entry] of Object.entries(value)) {
    if (key !== '__proto__') out[key] = own(entry)
  }
  return out
}
