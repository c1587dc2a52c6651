import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { inputSchema, renderReference } from './render.js';

test('reference: required keys, optional keys without a default, and defaults', () => {
  const schema = z.object({
    file: z.string().optional().describe('an optional file'),
    port: z.number().default(25).describe('a port'),
    relay: z.object({ host: z.string().describe('a host') }).optional(),
  });
  const text = renderReference(inputSchema(schema));
  assert.match(text, /\| `file` \| string \| \(unset\) \| an optional file \|/);
  assert.match(text, /\| `port` \| number \| `25` \| a port \|/);
  assert.match(text, /\| `host` \| string \| \(required\) \| a host \|/);
});

test('reference: a default missing from the JSON Schema is taken from what an empty config parses to', () => {
  const schema = z.object({ domains: z.array(z.string()).default(['example.org']) });
  const json = inputSchema(schema);
  assert.deepEqual(json.properties?.['domains']?.default, ['example.org']);
  // As zod leaves it out for some transformed lists (sender-auth's filter_domains): filled in anyway.
  const bare = z.object({
    domains: z
      .array(z.string())
      .optional()
      .transform((v) => v ?? ['example.org']),
  });
  assert.match(
    renderReference(inputSchema(bare)),
    /\| `domains` \| list of string \| `\[ "example\.org" \]` \|/,
  );
});
