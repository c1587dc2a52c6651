/**
 * test-messages.ts — fixtures shared by the unit tests: small raw messages
 * and a helper that wraps bytes as a read-only ScanMessage. Test support
 * only: not exported from index.ts.
 */
import { Readable } from 'node:stream';
import type { ScanMessage } from '@smarthold/core';
import { GTUBE } from './rules.js';

/** Wraps bytes as a ScanMessage; `opened` counts openMessage() calls. */
export function scanMessage(raw: Buffer | string): ScanMessage & { opened: number } {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'utf8');
  const message = {
    size: bytes.length,
    opened: 0,
    openMessage(): Readable {
      message.opened++;
      return Readable.from([bytes], { objectMode: false });
    },
  };
  return message;
}

export const HAM = `From: Alice Martin <alice@example.org>
To: dev-list@example.org
Subject: Re: build fails on the new kernel headers
Message-ID: <20261123.1234@mail.example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000
Content-Type: text/plain; charset=us-ascii

On Sunday, Bob wrote:
> The build breaks with the 2.4.19 headers.

I see the same thing here. The patch below fixes the include path in the
Makefile; I tested it with gcc 3.2 on Red Hat 7.3 and on Debian woody.
Could someone check it against the CVS tree before I commit?

Thanks,
Alice
`;

export const SPAM = `From: "Best Deals" <deals4u@bulk-offers.example>
To: undisclosed-recipients:;
Subject: FREE!!! Make $5000 a week from home - limited time offer
Content-Type: text/html; charset=iso-8859-1

<html><body><font size=5 color=red>MAKE MONEY FAST!!!</font>
<p>Dear Friend, you have been selected to receive this FREE offer. Earn $5000 per week
working from home. No experience needed! Click <a href="http://203.0.113.7/optin">here</a>
to order now. This is not spam. To be removed from our mailing list click here.</p>
<p>Act now! Limited time offer, 100% guaranteed, risk free. Order today!</p></body></html>
`;

export const GTUBE_MESSAGE = `From: tester@example.org
To: ops@example.org
Subject: GTUBE test

This is the GTUBE test string:

${GTUBE}
`;

/** Legitimate commercial mail: the kind the 2002 training ham lacks, so the shipped model flags it. */
export const NEWSLETTER = `From: Shop News <news@shop.example>
To: customer@example.org
Subject: Your November newsletter: new arrivals and a discount
Content-Type: text/plain; charset=utf-8

Hello, this month we have new arrivals in our store. As a subscriber you get
a 10% discount on your next order. Visit our website to see the catalogue.
You receive this newsletter because you signed up on our site; to unsubscribe,
follow the link at the bottom of this message.
http://shop.example/unsubscribe
`;
