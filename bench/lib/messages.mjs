// bench/lib/messages.mjs — the test messages, written once per run.
//
// Plain-text business mail of a given size, made from a fixed list of
// sentences with a seeded generator, so that every peer gets the same bytes
// and Bayes sees ordinary prose (smtp-source's own "-l" filler is a wall of
// X's, which a spam filter rightly dislikes). Two variants per size:
//   scan    sent from our network to an ordinary domain: the sender is ours,
//           so the quarantine asks the scanner about every message;
//   noscan  the top Received line says the message came from outside
//           (198.51.100.7) and our own MX (mx1.example.net, a trusted
//           authserv-id) found no SPF: the sender is not ours and the
//           recipient's domain is not filtered, so no scan can change the outcome.
// The envelope addresses go with the variant (see ENVELOPES). Lines are
// LF-terminated: smtp-source -F sends each line with CRLF and dot-stuffs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Envelope sender and recipient for each variant. */
export const ENVELOPES = {
  scan: { from: 'alice@example.org', to: 'bob@example.org' },
  noscan: { from: 'carol@nospf.example', to: 'dave@example.org' },
};

/** The authserv-id the smarthold config trusts for the noscan variant's Authentication-Results. */
export const TRUSTED_AUTHSERV_ID = 'mx1.example.net';

const SENTENCES = [
  'Thanks for the notes from Tuesday, I have added them to the project folder.',
  'The quarterly report is attached and the figures match what finance sent last week.',
  'Could you check the delivery dates for the second batch before we confirm with the customer?',
  'We moved the review meeting to Thursday at ten because the room was booked.',
  'The new build passed the integration tests on the staging servers this morning.',
  'Please send me the updated drawings when the engineering team has signed them off.',
  'I spoke with the supplier and they can ship the replacement parts on Monday.',
  'The budget for the next phase still needs approval from the steering group.',
  'Our team will handle the migration of the old records over the weekend.',
  'Let me know if the draft agreement reads well to you or needs another pass.',
  'The training session for new staff is planned for the first week of next month.',
  'I have booked the train tickets and the hotel for the conference in Lyon.',
  'The minutes of the last meeting are in the shared folder under planning.',
  'Maintenance on the network switches is scheduled for Saturday night.',
  'Can we keep the current schedule, or do you expect the testing to take longer?',
  'The invoice number is on the first page; accounting asked for it twice already.',
];

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function headers(variant, size) {
  const env = ENVELOPES[variant];
  const h = [];
  if (variant === 'noscan') {
    h.push(
      `Received: from mail.outside.example (mail.outside.example [198.51.100.7])`,
      `\tby ${TRUSTED_AUTHSERV_ID} (Postfix) with ESMTPS id 4QbX2k1Zz9z;`,
      `\tMon, 23 Nov 2026 09:00:00 +0000`,
      `Authentication-Results: ${TRUSTED_AUTHSERV_ID}; spf=none smtp.mailfrom=${env.from}`,
    );
  }
  h.push(
    `From: ${env.from.split('@')[0]} <${env.from}>`,
    `To: <${env.to}>`,
    `Subject: project status, ${size} bytes`,
    `Date: Mon, 23 Nov 2026 09:00:00 +0000`,
    `Message-ID: <bench-${variant}-${size}@example.org>`,
    `MIME-Version: 1.0`,
    `Content-Type: text/plain; charset=us-ascii`,
  );
  return h.join('\n') + '\n\n';
}

/** Text of about `size` bytes (headers included) for a variant. */
export function messageText(variant, size) {
  const next = rng(size + (variant === 'scan' ? 1 : 2));
  let text = headers(variant, size) + 'Hello,\n\n';
  let line = '';
  while (text.length + line.length < size - 40) {
    const s = SENTENCES[Math.floor(next() * SENTENCES.length)];
    if (line.length + s.length + 1 > 76) {
      text += line + '\n';
      line = '';
      if (next() < 0.15) text += '\n';
    }
    line += (line ? ' ' : '') + s;
    if (line.length > 76) {
      // a sentence longer than a line: wrap at a space
      const cut = line.lastIndexOf(' ', 76);
      text += line.slice(0, cut) + '\n';
      line = line.slice(cut + 1);
    }
  }
  return text + line + '\n\nRegards,\n' + ENVELOPES[variant].from.split('@')[0] + '\n';
}

/**
 * Writes every message file into dir.
 * @returns {Record<string, Record<'scan'|'noscan', string>>} size label → variant → path
 */
export function writeMessages(dir, sizes) {
  const out = {};
  for (const [label, bytes] of Object.entries(sizes)) {
    out[label] = {};
    for (const variant of ['scan', 'noscan']) {
      const file = join(dir, `msg-${label}-${variant}.eml`);
      writeFileSync(file, messageText(variant, bytes));
      out[label][variant] = file;
    }
  }
  return out;
}
