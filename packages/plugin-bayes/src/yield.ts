/**
 * yield.ts — cooperative scheduling for CPU-bound scanning work.
 *
 * A scan runs on the main thread (`workers = 0`, createBayesScanner) or in a
 * worker thread. To keep one large message from blocking the main event loop
 * (SMTP sessions, timers, HTTP), or in a worker the scans queued behind it,
 * long loops call `tick()` between bounded units of work; once the current
 * slice has run for `budgetMs`, tick() waits for the next turn of the event
 * loop (setImmediate), so pending I/O and timers run first. It does not split
 * work itself: callers keep each unit small (see CHUNK_CHARS).
 */

/** Largest piece of text processed between two ticks (characters). */
export const CHUNK_CHARS = 32 * 1024;

/** Hands the event loop back once a time slice is used up. */
export class Yielder {
  #sliceStart = performance.now();
  #yields = 0;

  /** @param budgetMs longest run of synchronous work between two yields, in ms. */
  constructor(private readonly budgetMs = 8) {}

  /** How many times this yielder has given the event loop back. */
  get yields(): number {
    return this.#yields;
  }

  /**
   * Resolves at once while the slice has time left; otherwise after a
   * setImmediate turn.
   *
   * @example
   * for (const chunk of chunks) { work(chunk); await yielder.tick(); }
   */
  async tick(): Promise<void> {
    if (performance.now() - this.#sliceStart < this.budgetMs) return;
    this.#yields++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }
}

/** Splits text into pieces of about `size` characters, cut at whitespace when one is near. */
export function splitText(text: string, size = CHUNK_CHARS): string[] {
  if (text.length <= size) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      const newline = text.lastIndexOf('\n', end);
      const cut = Math.max(space, newline);
      if (cut > start + size / 2) end = cut + 1;
    }
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}
