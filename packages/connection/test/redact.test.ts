import t from 'tap'
import { describeError, passwordsOf, redactUrl, scrub } from '../src/redact.js'

t.test('redactUrl masks the password and keeps the rest', async (t) => {
  t.equal(redactUrl('amqp://user:p%40ss@host:5672/vh'), 'amqp://user:***@host:5672/vh')
  t.equal(redactUrl('amqp://host'), 'amqp://host')
  t.notMatch(redactUrl('amqp://user:secret@[bad'), /secret/)
})

t.test('an unparseable URL: everything between // and the last @ is masked', async (t) => {
  t.equal(redactUrl('amqp://u:pa/ss@h:5672'), 'amqp://***@h:5672')
  t.equal(redactUrl('amqp://u:p/w@rd@h:5672/vh'), 'amqp://***@h:5672/vh', 'up to the last @')
  t.equal(redactUrl('amqp://u:p:a/s@[bad'), 'amqp://***@[bad')
  t.equal(redactUrl('not a url'), 'not a url', 'nothing to mask')
})

t.test('passwordsOf reads an unparseable URL as redactUrl does', async (t) => {
  t.same(passwordsOf(['amqp://u:pa/ss@h:5672']), ['pa/ss'])
  t.same(passwordsOf(['amqp://u:p/w@r:d@h:5672']), ['p/w@r:d'], 'up to the last @, colons kept')
  t.same(passwordsOf(['amqp://u@[bad']), [], 'no password')
  t.equal(scrub('login failed for pa/ss', passwordsOf(['amqp://u:pa/ss@h:5672'])), 'login failed for ***')
})

t.test('a malformed escape in a parseable password is kept as written', async (t) => {
  t.same(passwordsOf(['amqp://u:p%zz@h']), ['p%zz'])
})

t.test('scrub removes every password, raw and decoded', async (t) => {
  const secrets = passwordsOf(['amqp://u:p%40ss@h', 'amqp://v:other@h2'])
  t.same(secrets.sort(), ['other', 'p%40ss', 'p@ss'].sort())
  t.equal(scrub('failed for p@ss and other', secrets), 'failed for *** and ***')
  t.equal(describeError(new Error('bad p@ss'), secrets), 'bad ***')
  t.equal(describeError('plain other', secrets), 'plain ***')
})
