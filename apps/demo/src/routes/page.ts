import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// dist/routes/ and src/routes/ both sit two levels below the app's root, beside public/.
const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public')

/** The live page's files, as served: plain HTML, CSS and a small script, with no build step. */
const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
  '/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
} as const

/** GET / : the live page (it reads /live/events and posts to /orders). */
export const pageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const [url, { file, type }] of Object.entries(FILES)) {
    // Read once, at start-up: a missing file fails the start, not a visitor's request.
    const body = await readFile(join(PUBLIC, file))
    app.get(url, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body))
  }
}
