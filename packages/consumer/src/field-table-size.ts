/**
 * Bytes a field value takes in an AMQP field table as amqplib 2.x writes it (tag included), or Infinity when
 * amqplib would refuse to write it at all (a NaN, an undefined inside an array, a bigint, an unknown
 * `{ '!': type }`, a key over 255 bytes). Never less than amqplib writes: numbers count as 8-byte ones.
 * Reads own properties only: the tables it is given are rebuilt ones (headers.ts), built by the library.
 */
export function fieldValueSize(value: unknown, depth = 0): number {
  if (depth > MAX_DEPTH) return Number.POSITIVE_INFINITY
  switch (typeof value) {
    case 'string':
      return 5 + Buffer.byteLength(value)
    case 'boolean':
      return 2
    case 'number':
      return numberSize(value)
    case 'object':
      if (value === null) return 1
      if (Buffer.isBuffer(value)) return 5 + value.length
      if (Array.isArray(value)) {
        let size = 5
        for (const item of value) size += fieldValueSize(item, depth + 1)
        return size
      }
      if (Object.hasOwn(value, '!')) return typedSize(value as { '!': unknown; value?: unknown })
      return 1 + fieldTableSize(value as Record<string, unknown>, depth + 1)
    default:
      // undefined (amqplib skips it in a table, not in an array: the table counts it as 0), bigint, symbol, function
      return Number.POSITIVE_INFINITY
  }
}

/** Bytes of a whole field table (its 4-byte length included); Infinity when amqplib could not write it. */
export function fieldTableSize(table: Record<string, unknown>, depth = 0): number {
  let size = 4
  for (const [key, value] of Object.entries(table)) size += entrySize(key, value, depth)
  return size
}

/** Bytes one table entry adds (key and value); 0 for an undefined value, which amqplib leaves out. */
export function entrySize(key: string, value: unknown, depth = 0): number {
  if (value === undefined) return 0
  const keyBytes = Buffer.byteLength(key)
  if (keyBytes > 255) return Number.POSITIVE_INFINITY
  return 1 + keyBytes + fieldValueSize(value, depth)
}

// Deeper than any header worth keeping; also keeps the recursion far from the stack's end.
const MAX_DEPTH = 64
const INT64 = 2 ** 63

// amqplib writes an integer below 2^63 as a 64-bit one at most (BigInt of NaN, -Infinity or below -2^63 throws).
function numberSize(n: number): number {
  if (isFloatingPoint(n)) return 9
  return Number.isFinite(n) && n >= -INT64 ? 9 : Number.POSITIVE_INFINITY
}

// amqplib's own test: doubles for a fraction below 2^50 and for anything from 2^63 up.
function isFloatingPoint(n: number): boolean {
  return n >= INT64 || (Math.abs(n) < 2 ** 50 && Math.floor(n) !== n)
}

// The `{ '!': type, value }` form amqplib decodes timestamps and decimals into, and takes for explicit types.
function typedSize(typed: { '!': unknown; value?: unknown }): number {
  const type = typed['!']
  const value = Object.hasOwn(typed, 'value') ? typed.value : undefined
  const integer = (min: number, max: number, bytes: number) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? 1 + bytes
      : Number.POSITIVE_INFINITY
  switch (type) {
    case 'timestamp':
      return integer(0, 2 ** 64 - 2 ** 11, 8)
    case 'decimal': {
      if (typeof value !== 'object' || value === null) return Number.POSITIVE_INFINITY
      const { places, digits } = value as { places?: unknown; digits?: unknown }
      const ok =
        Object.hasOwn(value, 'places') &&
        Object.hasOwn(value, 'digits') &&
        typeof places === 'number' &&
        Number.isInteger(places) &&
        places >= 0 &&
        places < 256 &&
        typeof digits === 'number' &&
        Number.isInteger(digits) &&
        digits >= 0 &&
        digits <= 0xffffffff
      return ok ? 6 : Number.POSITIVE_INFINITY
    }
    case 'double':
    case 'float64':
    case 'float':
      return typeof value === 'number' ? 9 : Number.POSITIVE_INFINITY
    case 'byte':
    case 'int8':
      return integer(-128, 127, 1)
    case 'unsignedbyte':
    case 'uint8':
      return integer(0, 255, 1)
    case 'short':
    case 'int16':
      return integer(-0x8000, 0x7fff, 2)
    case 'unsignedshort':
    case 'uint16':
      return integer(0, 0xffff, 2)
    case 'int':
    case 'int32':
      return integer(-0x80000000, 0x7fffffff, 4)
    case 'unsignedint':
    case 'uint32':
      return integer(0, 0xffffffff, 4)
    case 'long':
    case 'int64':
      return integer(-INT64, INT64 - 2 ** 10, 8)
    case 'string':
      return typeof value === 'string' ? 5 + Buffer.byteLength(value) : Number.POSITIVE_INFINITY
    default:
      // Other explicit types ('object', 'boolean'...) are rare enough to leave out rather than model.
      return Number.POSITIVE_INFINITY
  }
}
