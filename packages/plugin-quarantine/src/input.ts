/**
 * input.ts — what people type into the pages and the CLI: whether it is a
 * mail address, and the error for bad input.
 *
 * A QuarantineInputError is the person's mistake, not a failure: the pages
 * show its message with status 400 and the CLI exits 1 with it. It does not
 * check anything against the records (service.ts, redirects.ts do).
 */

/** Errors people can cause (bad input): the pages and the CLI show the message. */
export class QuarantineInputError extends Error {
  readonly code = 'SMARTHOLD_QUARANTINE_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'QuarantineInputError';
  }
}

const ADDRESS_RE =
  /^[^\s@<>()",;:\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;

/**
 * True for a plain mailbox address (local@domain, no display name, at most
 * 320 characters).
 *
 * @example
 * isAddress('carol@example.org'); // true
 * isAddress('Carol <carol@example.org>'); // false
 */
export function isAddress(text: string): boolean {
  return text.length <= 320 && ADDRESS_RE.test(text);
}
