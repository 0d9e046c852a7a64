import { scrub } from './redact.js'

/** The Channel.Close that ended a channel: reply code, the method it refused, and the broker's text. */
export interface ChannelCloseReply {
  /** AMQP reply code: 404 not found, 406 precondition failed, 403 access refused... */
  code: number
  /** Class of the refused method (60 = basic); 0 when no method caused it. */
  classId: number
  /** The refused method within its class (40 = basic.publish with classId 60). */
  methodId: number
  /** The broker's reply text, without passwords. */
  text: string
}

// amqplib's message for a Channel.Close: `Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - ..."`.
const REPLY_TEXT = /with message "(.*)"$/s

/** The reply amqplib attached to a channel 'error' (code, classId, methodId), or null for any other error. */
export function channelCloseReply(err: unknown, secrets: readonly string[]): ChannelCloseReply | null {
  const { code, classId, methodId, message } = (err ?? {}) as Partial<Record<string, unknown>>
  if (typeof code !== 'number' || typeof classId !== 'number' || typeof methodId !== 'number') return null
  const text = String(message ?? '')
  return { code, classId, methodId, text: scrub(REPLY_TEXT.exec(text)?.[1] ?? text, secrets) }
}
