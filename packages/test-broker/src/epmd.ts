import { connect } from 'node:net'

/**
 * Names registered with the local epmd (Erlang port mapper), name -> distribution port.
 * Speaks the NAMES_REQ request directly, which is far cheaper than starting an Erlang CLI.
 * Resolves an empty map when epmd is not reachable.
 */
export function epmdNames(port = Number(process.env.ERL_EPMD_PORT) || 4369): Promise<Map<string, number>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect({ port, host: '127.0.0.1' })
    const timer = setTimeout(() => socket.destroy(), 2000)
    let failed = false
    socket.once('connect', () => socket.write(Buffer.from([0, 1, 110])))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.once('error', () => {
      failed = true
    })
    socket.once('close', () => {
      clearTimeout(timer)
      const names = new Map<string, number>()
      if (!failed) {
        // 4 bytes: epmd's own port, then lines "name <name> at port <port>"
        const text = Buffer.concat(chunks).subarray(4).toString('utf8')
        for (const match of text.matchAll(/^name (\S+) at port (\d+)$/gm)) {
          names.set(match[1] as string, Number(match[2]))
        }
      }
      resolve(names)
    })
  })
}
