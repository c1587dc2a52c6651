/**
 * notices/render.test.ts — the notices end to end: every kind renders from
 * the shipped templates into a message that parses back, the letter says
 * what it must, data cannot inject headers, and operator templates override
 * (or break) one kind at a time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  NoticeRenderer,
  NoticeTemplateError,
  SHIPPED_MAIL_TEMPLATES,
  type NoticeData,
  type NoticeKind,
  type NoticeRendererOptions,
} from './render.js';
import { locate } from './templates.js';
import { decodeWords, fieldValues, readMessage, type ReadMessage } from './test-mail.js';

const NOW = Date.UTC(2024, 4, 1, 14, 3, 0);
const DAY = 86_400_000;

function renderer(templatesDir = '', more: Partial<NoticeRendererOptions> = {}): NoticeRenderer {
  return new NoticeRenderer({
    templatesDir,
    from: 'Mail quarantine <postmaster@mx.example.net>',
    hostname: 'mx.example.net',
    siteName: 'Example ISP mail',
    now: () => NOW,
    ...more,
  });
}

const letter: NoticeData['recipient-letter'] = {
  recipient: 'alice@aol.example',
  domain: 'aol.example',
  held: [
    { sender: 'bob@example.org', subject: 'Cheap watches', date: NOW - DAY, size: 2048 },
    { sender: '', subject: '', date: NOW - 2 * DAY, size: 900 },
  ],
  heldCount: 14,
  pageUrl: 'https://mx.example.net/q/recipient/AbCdEfGhIjKlMnOpQrStUv',
  discardUrl: 'https://mx.example.net/q/recipient/AbCdEfGhIjKlMnOpQrStUv/discard',
  renotifyDays: 10,
  holdDays: 30,
  tokenDays: 60,
};

const samples: { readonly [K in NoticeKind]: [string, NoticeData[K]] } = {
  'recipient-letter': ['alice@aol.example', letter],
  'sender-access': [
    'bob@example.org',
    { sender: 'bob@example.org', pageUrl: 'https://mx.example.net/q/s/TOKEN', heldCount: 2, tokenDays: 7 },
  ],
  'recipient-access': [
    'alice@aol.example',
    {
      recipient: 'alice@aol.example',
      pageUrl: 'https://mx.example.net/q/r/TOKEN',
      heldCount: 0,
      tokenDays: 1,
    },
  ],
  'redirect-confirm': [
    'carol@example.org',
    {
      recipient: 'alice@aol.example',
      newAddress: 'carol@example.org',
      confirmUrl: 'https://mx.example.net/q/c/TOKEN',
      tokenDays: 7,
    },
  ],
  'redirect-active': [
    'alice@aol.example',
    {
      recipient: 'alice@aol.example',
      newAddress: 'carol@example.org',
      pageUrl: 'https://mx.example.net/q/r/TOKEN',
    },
  ],
};

const kinds = Object.keys(samples) as NoticeKind[];

async function renderKind(r: NoticeRenderer, kind: NoticeKind, unsubscribe?: string): Promise<ReadMessage> {
  const [to, data] = samples[kind];
  const n = await r.render(kind, to, data, unsubscribe);
  return readMessage(n.raw);
}

/** The only value of a field; fails when absent or repeated. */
function one(m: ReadMessage, name: string): string {
  const v = fieldValues(m, name);
  assert.equal(v.length, 1, `${name}: ${JSON.stringify(v)}`);
  return v[0] ?? '';
}

describe('shipped notices', () => {
  for (const kind of kinds) {
    it(`${kind}: renders a valid message with the required headers`, async () => {
      const m = await renderKind(renderer(), kind);
      assert.equal(one(m, 'From'), 'Mail quarantine <postmaster@mx.example.net>');
      assert.equal(one(m, 'To'), samples[kind][0]);
      assert.ok(one(m, 'Subject').length > 0);
      assert.equal(one(m, 'Date'), 'Wed, 01 May 2024 14:03:00 +0000');
      assert.match(one(m, 'Message-ID'), /^<[^<>@\s]+@mx\.example\.net>$/);
      assert.equal(one(m, 'MIME-Version'), '1.0');
      assert.equal(one(m, 'Content-Type'), 'text/plain; charset=utf-8');
      assert.equal(one(m, 'Content-Transfer-Encoding'), 'quoted-printable');
      assert.equal(one(m, 'Auto-Submitted'), 'auto-generated');
      assert.deepEqual(fieldValues(m, 'List-Unsubscribe'), []);
      assert.ok(
        m.headerLines.every((l) => l.length <= 78),
        'header lines ≤ 78',
      );
      assert.match(m.text, /\n-- \nExample ISP mail\n$/);
      assert.ok(!m.text.includes('{{') && !m.text.includes('{%'));
    });
  }

  it('every text line of every kind is short (≤ 76, URLs aside)', async () => {
    for (const kind of kinds) {
      const m = await renderKind(renderer(), kind);
      for (const line of m.text.split('\n')) {
        if (!line.includes('https://')) assert.ok(line.length <= 76, `${kind}: ${line}`);
      }
    }
  });

  it('the letter has the page and discard links, the intervals, the held list and "and N more"', async () => {
    const m = await renderKind(renderer(), 'recipient-letter');
    assert.equal(one(m, 'Subject'), 'We are holding mail for alice@aol.example');
    assert.ok(m.text.includes(`\n  ${letter.pageUrl}\n`));
    assert.ok(m.text.includes(`\n  ${letter.discardUrl}\n`));
    assert.match(m.text, /no more often than every 10 days/);
    assert.match(m.text, /We keep held mail for 30 days/);
    assert.match(m.text, /14 messages/);
    assert.match(m.text, /@aol\.example\s+addresses blacklists/);
    assert.match(m.text, /Date: +2024-04-30 14:03 UTC\n +From: +bob@example\.org\n +Subject: Cheap watches/);
    assert.match(m.text, /From: +<>\n +Subject: \(no subject\)/);
    assert.match(m.text, /\.\.\. and 12 more\./);
    assert.match(m.text, /Opening the link\s+alone changes nothing/);
  });

  it('the letter leaves out "and N more" when every held message is listed', async () => {
    const r = renderer();
    const n = await r.render('recipient-letter', 'alice@aol.example', { ...letter, heldCount: 2 });
    assert.ok(!readMessage(n.raw).text.includes('more.'));
  });

  it('says how long links work where the data has it', async () => {
    const r = renderer();
    assert.match((await renderKind(r, 'sender-access')).text, /works for 7 days/);
    assert.match((await renderKind(r, 'recipient-access')).text, /works for 1 day\./);
    assert.match((await renderKind(r, 'redirect-confirm')).text, /works for 7 days/);
  });

  it('adds List-Unsubscribe and the RFC 8058 one-click marker when given a URL', async () => {
    const m = await renderKind(renderer(), 'recipient-letter', letter.discardUrl);
    assert.equal(one(m, 'List-Unsubscribe'), `<${letter.discardUrl}>`);
    assert.equal(one(m, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
  });

  it('page-requested mail also gives its unsubscribe link in the text, when there is one', async () => {
    const url = 'https://mx.example.net/q/u/AbCdEfGhIjKlMnOpQrStUv';
    for (const kind of ['sender-access', 'redirect-confirm'] as const) {
      const m = await renderKind(renderer(), kind, url);
      assert.equal(one(m, 'List-Unsubscribe'), `<${url}>`);
      assert.ok(m.text.includes(`\n  ${url}\n`), kind);
      assert.match(m.text, /To stop (mail|requests) like this to this address/);
      assert.doesNotMatch((await renderKind(renderer(), kind)).text, /To stop/);
    }
  });

  it('check() passes on the shipped set', async () => {
    await renderer().check();
  });

  it('finds the shipped templates next to the package', async () => {
    assert.equal(path.basename(SHIPPED_MAIL_TEMPLATES), 'mail');
    assert.equal(
      await locate([SHIPPED_MAIL_TEMPLATES], 'sender-access'),
      path.join(SHIPPED_MAIL_TEMPLATES, 'sender-access.liquid'),
    );
  });
});

describe('hostile data', () => {
  const EXPECTED = [
    'from',
    'to',
    'subject',
    'date',
    'message-id',
    'mime-version',
    'content-type',
    'content-transfer-encoding',
    'auto-submitted',
    'list-unsubscribe',
    'list-unsubscribe-post',
  ];

  it('a CR/LF in data values cannot add a header or a line', async () => {
    const evil = '\r\nBcc: victim@example.org\r\n\r\nInjected';
    const n = await renderer().render(
      'recipient-letter',
      'alice@aol.example',
      {
        ...letter,
        recipient: `alice@aol.example${evil}`,
        held: [{ sender: `s@x${evil}`, subject: `Hi${evil}\u2028More\u202e`, date: NOW, size: 1 }],
      },
      `https://mx.example.net/u/${evil}`,
    );
    const m = readMessage(n.raw);
    assert.deepEqual(
      m.fields.map((f) => f.name.toLowerCase()),
      EXPECTED,
    );
    assert.ok(!n.subject.includes('\n'));
    assert.match(
      one(m, 'Subject'),
      /^We are holding mail for alice@aol\.example Bcc: victim@example\.org Injected$/,
    );
    for (const line of m.text.split('\n')) assert.ok(!/^\s*(?:Bcc:|Injected)/.test(line), line);
    assert.ok(!m.text.includes('\u202e'));
  });

  it('refuses a To address with a line break', async () => {
    const [, data] = samples['sender-access'];
    await assert.rejects(renderer().render('sender-access', 'bob@example.org\r\nBcc: x@y', data), TypeError);
  });

  it('refuses a From or host name that would break a header', () => {
    assert.throws(() => renderer('', { from: 'Q <q@x\r\nBcc: y>' }), TypeError);
    assert.throws(() => renderer('', { hostname: 'a b' }), TypeError);
  });
});

describe('operator templates', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'smarthold-notices-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const sub = await mkdtemp(path.join(dir, 't-'));
    await writeFile(path.join(sub, name), text);
    return sub;
  }

  it('override one kind and fall back to the shipped others', async () => {
    const sub = await write(
      'sender-access.liquid',
      'Subject: Accès à la page de {{ sender }}\n\nBonjour,\n\n  {{ pageUrl }}\n\n({{ tokenDays | plural: "jour", "jours" }})\n',
    );
    const r = renderer(sub);
    await r.check();
    const own = await renderKind(r, 'sender-access');
    assert.match(one(own, 'Subject'), /^=\?UTF-8\?B\?/);
    assert.equal(decodeWords(one(own, 'Subject')), 'Accès à la page de bob@example.org');
    assert.equal(own.text, 'Bonjour,\n\n  https://mx.example.net/q/s/TOKEN\n\n(7 jours)\n');
    const shipped = await renderKind(r, 'recipient-access');
    assert.match(shipped.text, /quarantine page of\nalice@aol\.example\./);
  });

  it('override the footer partial alone', async () => {
    const sub = await write('footer.liquid', '\n-- \nThe {{ siteName }} postmasters\n');
    const m = await renderKind(renderer(sub), 'redirect-active');
    assert.match(m.text, /\n-- \nThe Example ISP mail postmasters\n$/);
  });

  const broken: [string, string, RegExp][] = [
    ['an unclosed tag', 'Subject: x\n\n{% if heldCount %}\nno end\n', /not closed|endif/i],
    ['an unknown filter', 'Subject: x\n\n{{ sender | shout }}\n', /undefined filter: shout/],
    ['a missing Subject line', 'Hello {{ sender }}\n\nbody\n', /Subject:/],
    ['no empty line after the Subject', 'Subject: x\n', /empty line/],
    ['a second header', 'Subject: x\nBcc: y\n\nbody\n', /only a Subject/],
    ['an include that does not exist', 'Subject: x\n\n{% include "nope" %}\n', /nope/],
    ['a Subject that renders empty', 'Subject: {{ nothing }}\n\nbody\n', /empty/],
  ];
  for (const [what, text, message] of broken) {
    it(`a template with ${what} gives NoticeTemplateError naming the file`, async () => {
      const sub = await write('sender-access.liquid', text);
      const file = path.join(sub, 'sender-access.liquid');
      const check = (err: unknown): boolean => {
        assert.ok(err instanceof NoticeTemplateError);
        assert.equal(err.code, 'SMARTHOLD_QUARANTINE_TEMPLATE');
        assert.equal(err.file, file);
        assert.ok(err.message.includes(file));
        assert.match(err.message, message);
        return true;
      };
      await assert.rejects(renderer(sub).check(), check);
      const [to, data] = samples['sender-access'];
      await assert.rejects(renderer(sub).render('sender-access', to, data), check);
    });
  }

  it('a template directory that does not exist is an error naming it', async () => {
    const missing = path.join(dir, 'no-such-dir');
    await assert.rejects(renderer(missing).check(), (err: unknown) => {
      assert.ok(err instanceof NoticeTemplateError);
      assert.equal(err.file, missing);
      return true;
    });
  });

  it('a template found nowhere is an error naming the file', async () => {
    await assert.rejects(locate([dir], 'recipient-letter'), (err: unknown) => {
      assert.ok(err instanceof NoticeTemplateError);
      assert.equal(err.file, 'recipient-letter.liquid');
      return true;
    });
  });
});
