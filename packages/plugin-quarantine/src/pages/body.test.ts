/**
 * body.test.ts — reading form fields, and the multipart parsing one-click needs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundaryOf, field, fields, isOneClick, parseMultipart } from './body.js';

test('field and fields read strings only', () => {
  const body = { a: 'x', b: ['y', 'z'], c: 3, d: [4, 'w'] };
  assert.equal(field(body, 'a'), 'x');
  assert.equal(field(body, 'b'), 'y');
  assert.equal(field(body, 'c'), undefined);
  assert.equal(field(body, 'd'), undefined);
  assert.equal(field(undefined, 'a'), undefined);
  assert.equal(field('a=x', 'a'), undefined);
  assert.deepEqual(fields(body, 'b', 10), ['y', 'z']);
  assert.deepEqual(fields(body, 'b', 1), ['y']);
  assert.deepEqual(fields(body, 'a', 10), ['x']);
  assert.deepEqual(fields(body, 'd', 10), ['w']);
  assert.deepEqual(fields(body, 'none', 10), []);
});

test('isOneClick wants exactly List-Unsubscribe=One-Click', () => {
  assert.equal(isOneClick({ 'List-Unsubscribe': 'One-Click' }), true);
  assert.equal(isOneClick({ 'List-Unsubscribe': 'one-click' }), false);
  assert.equal(isOneClick({ 'list-unsubscribe': 'One-Click' }), false);
  assert.equal(isOneClick({}), false);
  assert.equal(isOneClick(undefined), false);
});

test('boundaryOf reads plain and quoted boundaries', () => {
  assert.equal(boundaryOf('multipart/form-data; boundary=abc123'), 'abc123');
  assert.equal(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b:c"'), 'a b:c');
  assert.equal(boundaryOf('multipart/form-data'), undefined);
});

test('parseMultipart reads text fields and skips files', () => {
  const b = 'XyZ';
  const body = [
    `--${b}`,
    'Content-Disposition: form-data; name="List-Unsubscribe"',
    '',
    'One-Click',
    `--${b}`,
    'Content-Disposition: form-data; name="upload"; filename="a.txt"',
    'Content-Type: text/plain',
    '',
    'file text',
    `--${b}`,
    'Content-Disposition: form-data; name="List-Unsubscribe"',
    '',
    'second value ignored',
    `--${b}--`,
    '',
  ].join('\r\n');
  const parsed = parseMultipart(`multipart/form-data; boundary=${b}`, body);
  assert.deepEqual({ ...parsed }, { 'List-Unsubscribe': 'One-Click' });
  assert.equal(isOneClick(parsed), true);
  assert.deepEqual({ ...parseMultipart('multipart/form-data', body) }, {});
  assert.deepEqual({ ...parseMultipart(`multipart/form-data; boundary=${b}`, 'garbage') }, {});
});
