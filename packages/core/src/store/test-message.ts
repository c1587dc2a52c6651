/**
 * test-message.ts — a NewMessage for store tests: one active recipient and
 * plain envelope fields, with what a test cares about given in `fields`.
 * Not published (dist/**\/test-* is excluded).
 */
import type { NewMessage } from './types.js';

export function testMessage(queueId: string, fields: Partial<NewMessage> = {}): NewMessage {
  return {
    queueId,
    arrivalTime: 1,
    sender: 'a@example.org',
    size: 10,
    clientAddress: '127.0.0.1',
    clientHelo: 'h',
    authUser: '',
    origin: 'smtp',
    results: [],
    trace: [],
    recipients: [{ address: 'b@example.net', state: 'active' }],
    ...fields,
  };
}
