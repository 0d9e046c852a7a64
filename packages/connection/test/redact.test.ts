import t from 'tap'
import { describeError, passwordsOf, redactUrl, scrub } from '../src/redact.js'

t.test('redactUrl masks the password and keeps the rest', async (t) => {
  t.equal(redactUrl('amqp://user:p%40ss@host:5672/vh'), 'amqp://user:***@host:5672/vh')
  t.equal(redactUrl('amqp://host'), 'amqp://host')
  t.notMatch(redactUrl('amqp://user:secret@[bad'), /secret/)
})

t.test('scrub removes every password, raw and decoded', async (t) => {
  const secrets = passwordsOf(['amqp://u:p%40ss@h', 'amqp://v:other@h2'])
  t.same(secrets.sort(), ['other', 'p%40ss', 'p@ss'].sort())
  t.equal(scrub('failed for p@ss and other', secrets), 'failed for *** and ***')
  t.equal(describeError(new Error('bad p@ss'), secrets), 'bad ***')
  t.equal(describeError('plain other', secrets), 'plain ***')
})
