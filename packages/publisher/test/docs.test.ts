import createError from '@fastify/error'
import { testErrorCodes } from '@fastify-amqp/test-broker'
import t from 'tap'
import * as errors from '../src/errors.js'

testErrorCodes(t, {
  area: 'PUBLISHER',
  errors,
  readme: new URL('../README.md', import.meta.url),
  root: new URL('../../../', import.meta.url),
  createError,
})
