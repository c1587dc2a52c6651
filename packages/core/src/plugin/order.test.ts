import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSmartholdError } from '../errors.js';
import { orderPlugins } from './order.js';

const n = (name: string, provides: string[] = [], requires: string[] = [], optional: string[] = []) => ({
  name,
  provides,
  requires,
  optional,
});

test('a plugin runs after the provider of what it requires, whatever the config order', () => {
  const order = orderPlugins([
    n('quarantine', [], ['spam-scanner', 'sender-auth']),
    n('bayes', ['spam-scanner']),
    n('sender-auth', ['sender-auth']),
  ]);
  assert.deepEqual(
    order.map((x) => x.name),
    ['bayes', 'sender-auth', 'quarantine'],
  );
});

test('config order is kept among independent plugins', () => {
  assert.deepEqual(
    orderPlugins([n('b'), n('a'), n('c')]).map((x) => x.name),
    ['b', 'a', 'c'],
  );
});

test('a missing service names the plugin and the service', () => {
  assert.throws(
    () => orderPlugins([n('quarantine', [], ['spam-scanner'])]),
    (e: unknown) =>
      isSmartholdError(e, 'SMARTHOLD_PLUGIN_MISSING_SERVICE') &&
      /"quarantine" requires the service "spam-scanner"/.test(e.message),
  );
});

test('a cycle names both plugins', () => {
  assert.throws(
    () => orderPlugins([n('a', ['x'], ['y']), n('b', ['y'], ['x'])]),
    (e: unknown) =>
      isSmartholdError(e, 'SMARTHOLD_PLUGIN_CYCLE') &&
      /"a" needs "b"/.test(e.message) &&
      /"b" needs "a"/.test(e.message),
  );
});

test('optional services order when present and are ignored when absent', () => {
  assert.deepEqual(
    orderPlugins([n('user', [], [], ['opt']), n('prov', ['opt'])]).map((x) => x.name),
    ['prov', 'user'],
  );
  assert.deepEqual(
    orderPlugins([n('user', [], [], ['opt'])]).map((x) => x.name),
    ['user'],
  );
});
