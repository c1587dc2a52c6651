/**
 * session.test.ts — the admin cookie's text: reading it from a Cookie header
 * and the attributes it is set with. (Sessions themselves are tested over
 * HTTP on both databases in admin.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookieOf, SESSION_COOKIE, sessionCookie } from './session.js';

test('cookieOf finds one cookie among several, and nothing in a missing header', () => {
  assert.equal(cookieOf(`a=1; ${SESSION_COOKIE}=abc.def ; b=2`, SESSION_COOKIE), 'abc.def');
  assert.equal(cookieOf(`x${SESSION_COOKIE}=1`, SESSION_COOKIE), undefined);
  assert.equal(cookieOf('a=1', SESSION_COOKIE), undefined);
  assert.equal(cookieOf(undefined, SESSION_COOKIE), undefined);
  assert.equal(cookieOf(`${SESSION_COOKIE}=`, SESSION_COOKIE), '');
});

test('the cookie is HttpOnly, SameSite=Strict, with Max-Age; Secure only when asked', () => {
  assert.equal(
    sessionCookie('v', 3600, false),
    `${SESSION_COOKIE}=v; HttpOnly; SameSite=Strict; Max-Age=3600`,
  );
  assert.equal(
    sessionCookie('', 0, true),
    `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Max-Age=0; Secure`,
  );
});
