import { Agent, request } from 'node:http'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

/** A keep-alive HTTP client for one base URL: enough for a load script, no dependency. */
export class HttpClient {
  readonly #base: URL
  readonly #agent: Agent

  constructor(baseUrl: string, maxSockets: number) {
    this.#base = new URL(baseUrl)
    this.#agent = new Agent({ keepAlive: true, maxSockets })
  }

  send(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.#base),
        {
          method,
          agent: this.#agent,
          timeout: timeoutMs,
          headers:
            payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown = text
            try {
              parsed = JSON.parse(text)
            } catch {
              // Not JSON: keep the text.
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed })
          })
        }
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}
