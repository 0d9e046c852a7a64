import { AmqpConnectFailedError, AmqpConnectTimeoutError, redactUrl } from '@fastify-amqp/connection'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { startMetrics } from './metrics.js'

function brokerHelp(config: Config, err: Error): string {
  return [
    '',
    `  No RabbitMQ answered at ${redactUrl(config.amqpUrl)} within ${config.connectTimeout} ms.`,
    `  (${err.message})`,
    '',
    '  Start one, then run the demo again:',
    '    rabbitmq-server -detached          # RabbitMQ installed on this machine',
    '    scripts/ensure-rabbitmq.sh         # from the repository root: installs it if missing, starts it, waits',
    '  or point AMQP_URL at a running broker (AMQP_URL=amqp://user:pass@host:5672).',
    '',
  ].join('\n')
}

async function start(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`demo: invalid configuration: ${err.message}\n`)
    process.exit(2)
  }

  // Before the plugins register: they look for a meter provider then.
  const metrics = startMetrics()
  let app: FastifyInstance
  try {
    app = await buildApp(config, { metrics })
  } catch (err) {
    const unreachable = err instanceof AmqpConnectTimeoutError || err instanceof AmqpConnectFailedError
    if (!unreachable) throw err
    process.stderr.write(brokerHelp(config, err as Error))
    process.exit(1)
  }

  // First signal: graceful close; a second signal or the timeout: exit 1 at once.
  closeWithGrace(
    {
      delay: config.shutdownTimeout,
      logger: false,
      onSecondSignal: (signal) => app.log.error({ signal }, 'shutdown: second signal, exiting now (code 1)'),
      onTimeout: (delay) => app.log.error({ delay }, 'shutdown: not done in time, exiting now (code 1)'),
    },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'shutdown: closing after an uncaught error (exit code 1)')
      else app.log.info({ signal }, 'shutdown: started')
      await app.close()
      app.log.info(err ? 'shutdown: complete (exit code 1)' : 'shutdown: complete (exit code 0)')
    }
  )

  await app.listen({ port: config.port, host: config.host })
  app.log.info(
    { databasePath: config.databasePath, exchange: app.names.exchange },
    `orders demo ready: open http://${config.host}:${config.port}/ (the live page); POST /orders places an order`
  )
}

await start()
