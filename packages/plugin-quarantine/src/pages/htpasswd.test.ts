/**
 * htpasswd.test.ts — reading htpasswd files: bcrypt entries in the three
 * prefixes htpasswd and other tools write, every other format refused with
 * its line, passwords checked, unknown users costing a bcrypt run, and the
 * file read again when it changes (or nobody in when it is gone).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { entryTag, HtpasswdError, HtpasswdFile, parseHtpasswd } from './htpasswd.js';

/** A bcrypt hash with the prefix `htpasswd -B` writes ($2y$), cost 4 to keep tests fast. */
const hashOf = (password: string, prefix = '$2y$'): string => prefix + bcrypt.hashSync(password, 4).slice(4);

/** A logger that keeps what it is given. */
function memoryLog() {
  const lines: { level: string; msg: string; obj: unknown }[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg = ''): void => {
      lines.push({ level, msg, obj });
    };
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info') } };
}

test('bcrypt entries in $2y$, $2a$ and $2b$ are accepted; comments and blank lines skipped', () => {
  const text = [
    '# admins',
    '',
    `ann:${hashOf('a', '$2y$')}`,
    `ben:${hashOf('b', '$2a$')}\r`,
    `  cat:${hashOf('c', '$2b$')}  `,
  ].join('\n');
  const { entries, problems } = parseHtpasswd(text);
  assert.deepEqual(problems, []);
  assert.deepEqual([...entries.keys()], ['ann', 'ben', 'cat']);
  assert.equal(entries.get('ben')?.line, 4);
});

test('every other format is refused, naming its line and user', () => {
  const text = [
    `ok:${hashOf('x')}`,
    'md5:$apr1$Vq0Uq2sR$9D2c0Xx3j0kWx2c3Yb8mZ/',
    'sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
    'des:ab01FAX.bQRSU',
    'sha512:$6$saltsalt$Kx4Vv8mS8JrP7UuGmS9kJg6RzvS3E8oWQk1hFZ0Yb0lH4z1bD3a9W3Qb7A1m0pYw6xQ2rT5u8v9w0x1y2z3A4B',
    'plain:hunter2',
    'nocolon',
    `ok:${hashOf('y')}`,
    'short:$2y$05$tooshort',
  ].join('\n');
  const { entries, problems } = parseHtpasswd(text);
  assert.deepEqual([...entries.keys()], ['ok']);
  assert.deepEqual(
    problems.map((p) => [p.line, p.user]),
    [
      [2, 'md5'],
      [3, 'sha'],
      [4, 'des'],
      [5, 'sha512'],
      [6, 'plain'],
      [7, ''],
      [8, 'ok'],
      [9, 'short'],
    ],
  );
  const text2 = problems.map((p) => p.message).join('\n');
  assert.match(text2, /MD5 \(\$apr1\$\) hash refused; .*htpasswd -B/);
  assert.match(text2, /SHA-1 \(\{SHA\}\) hash refused/);
  assert.match(text2, /DES crypt hash refused/);
  assert.match(text2, /crypt \(\$6\$\) hash refused/);
  assert.match(text2, /user listed twice; the first entry counts/);
  assert.match(text2, /malformed bcrypt hash/);
});

describe('the file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'smarthold-htpasswd-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a refused line stops start-up with file and line; so do a missing or empty file', async () => {
    const file = path.join(dir, 'bad');
    await writeFile(file, `ok:${hashOf('x')}\nbob:$apr1$Vq0Uq2sR$9D2c0Xx3j0kWx2c3Yb8mZ/\n`);
    const { log } = memoryLog();
    await assert.rejects(HtpasswdFile.open(file, log), (err: unknown) => {
      assert.ok(err instanceof HtpasswdError);
      assert.equal(err.code, 'SMARTHOLD_QUARANTINE_HTPASSWD');
      assert.ok(err.message.includes(`${file}:2: user "bob": MD5 ($apr1$) hash refused`), err.message);
      return true;
    });
    await assert.rejects(HtpasswdFile.open(path.join(dir, 'missing'), log), /admin htpasswd file .*missing/);
    const empty = path.join(dir, 'empty');
    await writeFile(empty, '# nobody yet\n');
    await assert.rejects(HtpasswdFile.open(empty, log), /lists no user/);
  });

  test('passwords: right, wrong, unknown user (bcrypt runs anyway), overlong input', async () => {
    const file = path.join(dir, 'users');
    await writeFile(file, `admin:${hashOf('correct horse')}\n`);
    const h = await HtpasswdFile.open(file, memoryLog().log);
    assert.equal(await h.verify('admin', 'correct horse'), true);
    assert.equal(await h.verify('admin', 'wrong'), false);
    assert.equal(
      await h.verify('Admin', 'correct horse'),
      false,
      'user names are case-sensitive, as in Apache',
    );
    let compared = 0;
    type Compare = (password: string, hash: string) => Promise<boolean>;
    const patchable = bcrypt as unknown as { compare: Compare };
    const original = patchable.compare;
    // bcrypt runs for an unknown user too (against a dummy hash): count the calls.
    patchable.compare = (password, hash) => {
      compared++;
      return original(password, hash);
    };
    try {
      assert.equal(await h.verify('nobody', 'correct horse'), false);
      assert.equal(compared, 1);
    } finally {
      patchable.compare = original;
    }
    assert.equal(await h.verify('admin', 'x'.repeat(2000)), false);
  });

  test('read again when it changes; bad new lines are logged and only their users refused; gone: nobody', async () => {
    const file = path.join(dir, 'changing');
    await writeFile(file, `admin:${hashOf('one')}\n`);
    const { lines, log } = memoryLog();
    const h = await HtpasswdFile.open(file, log);
    const tag1 = await h.tagOf('admin');
    assert.ok(tag1);
    // As editors and htpasswd do: a new file renamed over the old one.
    await writeFile(
      `${file}.new`,
      `admin:${hashOf('two')}\nold:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nnew:${hashOf('three')}\n`,
    );
    await rename(`${file}.new`, file);
    assert.equal(await h.verify('admin', 'one'), false);
    assert.equal(await h.verify('admin', 'two'), true);
    assert.equal(await h.verify('new', 'three'), true);
    assert.equal(await h.verify('old', 'anything'), false);
    assert.notEqual(await h.tagOf('admin'), tag1, 'a new password is a new tag');
    assert.equal(await h.tagOf('old'), undefined);
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    assert.deepEqual(errors, [
      `${file}:2: user "old": SHA-1 ({SHA}) hash refused; only bcrypt entries are accepted: write this one again with \`htpasswd -B\``,
    ]);
    await rm(file);
    assert.equal(await h.verify('admin', 'two'), false);
    assert.equal(await h.tagOf('admin'), undefined);
  });

  test('entryTag is stable and short', () => {
    const hash = hashOf('x');
    assert.equal(entryTag(hash), entryTag(hash));
    assert.equal(entryTag(hash).length, 16);
  });
});
