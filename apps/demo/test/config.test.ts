import t from 'tap'
import { ConfigError, DEFAULT_DATABASE_PATH, loadConfig } from '../src/config.js'
import { APP_ROOT } from './fixtures/helpers.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.amqpUrl, 'amqp://guest:guest@127.0.0.1:5672')
  t.equal(config.logLevel, 'info')
  t.equal(config.amqpPrefix, '')
  t.equal(config.databasePath, DEFAULT_DATABASE_PATH)
  // Under the app's own data directory, which .gitignore keeps out of the repository.
  t.equal(DEFAULT_DATABASE_PATH, `${APP_ROOT}/data/orders.db`)
  t.ok(config.shutdownTimeout > config.drainTimeout, 'the shutdown budget covers the drain')
})

t.test('reads every variable', async (t) => {
  const config = loadConfig({
    PORT: '4000',
    HOST: '0.0.0.0',
    AMQP_URL: 'amqps://u:p@broker:5671/vhost',
    LOG_LEVEL: 'debug',
    DATABASE_PATH: '/tmp/x/orders.db',
    AMQP_PREFIX: 'staging.',
    WORK_DELAY_MS: '0',
    CONNECT_TIMEOUT: '2000',
    DRAIN_TIMEOUT: '3000',
    SHUTDOWN_TIMEOUT: '9000',
  })
  t.same(config, {
    port: 4000,
    host: '0.0.0.0',
    amqpUrl: 'amqps://u:p@broker:5671/vhost',
    logLevel: 'debug',
    databasePath: '/tmp/x/orders.db',
    amqpPrefix: 'staging.',
    workDelayMs: 0,
    connectTimeout: 2000,
    drainTimeout: 3000,
    shutdownTimeout: 9000,
  })
})

t.test('rejects bad values with the variable named', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /^PORT must be an integer/],
    [{ PORT: '70000' }, /^PORT must be an integer from 0 to 65535/],
    [{ WORK_DELAY_MS: '1.5' }, /^WORK_DELAY_MS/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ AMQP_URL: 'http://x' }, /^AMQP_URL must start with amqp/],
    [{ AMQP_PREFIX: 'a b' }, /^AMQP_PREFIX/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  t.type(new ConfigError('x'), Error)
})
