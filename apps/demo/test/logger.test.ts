import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { freePort } from '@fastify-amqp/test-broker'
import t from 'tap'
import { loggerOptions } from '../src/logger.js'
import { APP_ROOT, SERVER_ENTRY, tempDir } from './fixtures/helpers.js'

t.test('logger options: pino-pretty as a transport in a terminal, plain JSON lines otherwise', async (t) => {
  t.same(loggerOptions('debug', false), { level: 'debug' })
  t.match(loggerOptions('info', true), {
    level: 'info',
    transport: { target: /pino-pretty/, options: { colorize: true, ignore: 'pid,hostname' } },
  })
  t.same(loggerOptions('warn'), { level: 'warn' }, 'by default, from process.stdout (a pipe under tap)')
})

// util-linux's script(1) gives the demo a terminal for its stdout, as a user's shell does.
t.test('in a terminal the demo logs pretty lines, not JSON', async (t) => {
  const child = spawn(
    'script',
    ['--quiet', '--return', '--command', `${process.execPath} ${SERVER_ENTRY}`, '/dev/null'],
    {
      cwd: APP_ROOT,
      env: {
        ...process.env,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
        CONNECT_TIMEOUT: '500',
        DATABASE_PATH: join(tempDir(t), 'orders.db'),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  // Colours and all: strip the escape codes pino-pretty adds, then read it as a person would.
  const plain = stripVTControlCharacters(output)
  t.equal(code, 1, 'no broker: exit 1, as without a terminal')
  t.match(plain, /INFO.*connecting to RabbitMQ/, 'the level and message on one readable line')
  t.match(
    plain,
    /connecting to RabbitMQ \{"url":"amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+"/,
    'its fields on the same line, the password still redacted'
  )
  t.notMatch(plain, /\{"level":/, 'no JSON line')
})
