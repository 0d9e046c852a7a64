import { AmqpInvalidOptionError } from './errors.js'
import type { AmqpConnectionOptions } from './options.js'

/** TLS for amqps:// URLs: a private CA, a client certificate. Passed to tls.connect as they are. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer | Array<string | Buffer>
  key?: string | Buffer | Array<string | Buffer>
  passphrase?: string
  pfx?: string | Buffer | Array<string | Buffer>
  /** SNI and the name the certificate must carry; default: the URL's host name (none for an IP address). */
  servername?: string
  /** false accepts any certificate: for a test broker only. Default true. */
  rejectUnauthorized?: boolean
}

/** What amqplib's connect() takes besides the URL, checked once. */
export interface SocketSettings {
  socketOptions: Record<string, unknown>
  tls: TlsOptions
  sasl: 'plain' | 'external'
  clientProperties: Record<string, unknown>
}

function invalid(field: string, problem: string): never {
  throw new AmqpInvalidOptionError(field, problem)
}

const TLS_KEYS: ReadonlyArray<keyof TlsOptions> = [
  'ca',
  'cert',
  'key',
  'passphrase',
  'pfx',
  'servername',
  'rejectUnauthorized',
]

export function resolveSocket(options: AmqpConnectionOptions, urls: string[]): SocketSettings {
  const tls = options.tls ?? {}
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) invalid('tls', 'expected an object')
  for (const key of Object.keys(tls))
    if (!TLS_KEYS.includes(key as keyof TlsOptions)) invalid(`tls.${key}`, `unknown; expected ${TLS_KEYS.join(', ')}`)
  const tlsGiven = Object.keys(tls).length > 0
  const secure = urls.some((url) => url.startsWith('amqps:'))
  if (tlsGiven && !secure) invalid('tls', 'applies to amqps:// URLs, and every URL is amqp://')
  const sasl = options.sasl ?? 'plain'
  if (sasl !== 'plain' && sasl !== 'external') invalid('sasl', "expected 'plain' or 'external'")
  if (sasl === 'external' && !(secure && (tls.cert || tls.pfx)))
    invalid(
      'sasl',
      "'external' takes the login from a client certificate: give amqps:// URLs and tls.cert (or tls.pfx)"
    )
  const socketOptions = options.socketOptions ?? {}
  if (typeof socketOptions !== 'object' || socketOptions === null) invalid('socketOptions', 'expected an object')
  const clientProperties = options.clientProperties ?? {}
  if (typeof clientProperties !== 'object' || clientProperties === null)
    invalid('clientProperties', 'expected an object')
  return { socketOptions, tls, sasl, clientProperties }
}
