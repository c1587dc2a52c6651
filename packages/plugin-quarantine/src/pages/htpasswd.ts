/**
 * pages/htpasswd.ts — the admin page's users: an htpasswd file with bcrypt
 * entries, as Apache's `htpasswd -B` writes them.
 *
 * One `user:hash` per line; blank lines and lines starting with `#` are
 * skipped. Only bcrypt hashes (`$2y$`, `$2a$`, `$2b$`) are accepted: the
 * other formats htpasswd can write (MD5 `$apr1$`, `{SHA}`, crypt, plain
 * text) are fast to brute-force, and each such line is reported with its
 * file and line number. At start-up any such problem stops smarthold
 * ({@link HtpasswdError}); when the file is changed while running, the bad
 * lines are logged and their users cannot sign in, the others can.
 *
 * The file is stat()ed at every check and read again when its size, mtime or
 * inode changed, so adding, removing or changing a user needs no restart. A
 * file that cannot be read any more lets nobody in (deleting it shuts the
 * admin page's door at once). Checking a password always runs bcrypt, against
 * a dummy hash of the same cost for an unknown user, so the answer takes the
 * same time whether or not the user exists. It does not know about HTTP or
 * sessions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';

/** A bcrypt hash: `$2y$` / `$2a$` / `$2b$`, two-digit cost, 53 characters of salt and digest. */
const BCRYPT_RE = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Longest user name and password looked at (bcrypt itself reads 72 bytes of a password). */
const MAX_USER = 255;
const MAX_PASSWORD = 1024;

/** One accepted line. */
export interface HtpasswdEntry {
  readonly user: string;
  readonly hash: string;
  readonly line: number;
}

/** One refused line. */
export interface HtpasswdProblem {
  readonly line: number;
  /** The user the line names ('' when there is none). */
  readonly user: string;
  readonly message: string;
}

/** The accepted entries by user, and the refused lines. */
export interface ParsedHtpasswd {
  readonly entries: ReadonlyMap<string, HtpasswdEntry>;
  readonly problems: readonly HtpasswdProblem[];
}

/** The htpasswd file cannot be used (unreadable, or a refused line) at start-up. */
export class HtpasswdError extends Error {
  readonly code = 'SMARTHOLD_QUARANTINE_HTPASSWD' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HtpasswdError';
  }
}

/** What is wrong with a hash that is not bcrypt: names the format when it is a known one. */
function refusal(hash: string): string {
  const fix = 'only bcrypt entries are accepted: write this one again with `htpasswd -B`';
  if (hash.startsWith('$apr1$')) return `MD5 ($apr1$) hash refused; ${fix}`;
  if (hash.startsWith('{SHA}')) return `SHA-1 ({SHA}) hash refused; ${fix}`;
  if (/^\$[156]\$/.test(hash)) return `crypt (${hash.slice(0, 3)}) hash refused; ${fix}`;
  if (/^\$2[aby]\$/.test(hash)) return `malformed bcrypt hash; ${fix}`;
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return `DES crypt hash refused; ${fix}`;
  return `not a bcrypt hash (plain text?); ${fix}`;
}

/**
 * Parses htpasswd text. A user listed twice keeps the first entry (as Apache
 * does) and the later line is a problem.
 *
 * @example
 * parseHtpasswd('admin:$2y$05$...\n').entries.get('admin')?.hash
 */
export function parseHtpasswd(text: string): ParsedHtpasswd {
  const entries = new Map<string, HtpasswdEntry>();
  const problems: HtpasswdProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const colon = t.indexOf(':');
    if (colon <= 0) {
      problems.push({ line, user: '', message: 'expected user:hash' });
      continue;
    }
    const user = t.slice(0, colon);
    const hash = t.slice(colon + 1);
    if (!BCRYPT_RE.test(hash)) problems.push({ line, user, message: refusal(hash) });
    else if (user.length > MAX_USER) problems.push({ line, user: '', message: 'user name too long' });
    else if (entries.has(user))
      problems.push({ line, user, message: 'user listed twice; the first entry counts' });
    else entries.set(user, { user, hash, line });
  }
  return { entries, problems };
}

/** A problem as one log or error line: `file:line: user "x": message`. */
export function describeProblem(file: string, p: HtpasswdProblem): string {
  return `${file}:${String(p.line)}: ${p.user ? `user "${p.user}": ` : ''}${p.message}`;
}

/** The bcrypt cost written in a hash. */
function costOf(hash: string): number {
  return Number(BCRYPT_RE.exec(hash)?.[1] ?? 10);
}

/** The cost of the dummy hash for unknown users: the file's highest. */
function dummyCost(parsed: ParsedHtpasswd | undefined): number {
  return Math.max(5, ...[...(parsed?.entries.values() ?? [])].map((e) => costOf(e.hash)));
}

/** A short fingerprint of a user's entry: sessions made with it end when the password changes. */
export function entryTag(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

interface Loaded {
  readonly key: string;
  readonly parsed: ParsedHtpasswd;
}

/** An htpasswd file, read again when it changes. */
export class HtpasswdFile {
  private loaded: Loaded | undefined;
  private loading: Promise<Loaded | undefined> | undefined;
  /** Dummy hashes by cost, for unknown users. */
  private readonly dummies = new Map<number, Promise<string>>();

  private constructor(
    readonly file: string,
    private readonly log: Pick<Logger, 'error' | 'warn' | 'info'>,
  ) {}

  /**
   * Reads and checks the file; throws {@link HtpasswdError} naming the file
   * and line of every refused entry, or when the file cannot be read or has
   * no user at all.
   */
  static async open(file: string, log: Pick<Logger, 'error' | 'warn' | 'info'>): Promise<HtpasswdFile> {
    const h = new HtpasswdFile(file, log);
    let loaded: Loaded;
    try {
      loaded = await h.read();
    } catch (err) {
      throw new HtpasswdError(`admin htpasswd file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const { entries, problems } = loaded.parsed;
    if (problems.length) {
      throw new HtpasswdError(
        `admin htpasswd file refused:\n${problems.map((p) => describeProblem(file, p)).join('\n')}`,
      );
    }
    if (entries.size === 0) throw new HtpasswdError(`admin htpasswd file ${file} lists no user`);
    h.loaded = loaded;
    // Made now, in the background, so that the first unknown user does not wait for it (and show it).
    void h.dummy(dummyCost(loaded.parsed));
    return h;
  }

  /** Reads and parses the file; `key` identifies the version read. */
  private async read(): Promise<Loaded> {
    const st = await stat(this.file);
    const text = await readFile(this.file, 'utf8');
    return { key: `${String(st.ino)}:${String(st.size)}:${String(st.mtimeMs)}`, parsed: parseHtpasswd(text) };
  }

  /** The entries now: re-read when the file changed; undefined when it cannot be read (nobody gets in). */
  private async current(): Promise<ParsedHtpasswd | undefined> {
    this.loading ??= this.refresh().finally(() => {
      this.loading = undefined;
    });
    return (await this.loading)?.parsed;
  }

  private async refresh(): Promise<Loaded | undefined> {
    let key: string;
    try {
      const st = await stat(this.file);
      key = `${String(st.ino)}:${String(st.size)}:${String(st.mtimeMs)}`;
    } catch (err) {
      if (this.loaded !== undefined)
        this.log.error({ err, file: this.file }, 'admin htpasswd file unreadable');
      this.loaded = undefined;
      return undefined;
    }
    if (this.loaded?.key === key) return this.loaded;
    try {
      this.loaded = await this.read();
    } catch (err) {
      this.log.error({ err, file: this.file }, 'admin htpasswd file unreadable');
      this.loaded = undefined;
      return undefined;
    }
    const { entries, problems } = this.loaded.parsed;
    for (const p of problems) {
      this.log.error({ file: this.file, line: p.line, user: p.user }, describeProblem(this.file, p));
    }
    this.log.info({ file: this.file, users: entries.size }, 'admin htpasswd file read again');
    return this.loaded;
  }

  /** A bcrypt hash of a random password with this cost (made once per cost). */
  private dummy(cost: number): Promise<string> {
    let d = this.dummies.get(cost);
    if (d === undefined) {
      d = bcrypt.hash(randomBytes(18).toString('base64'), cost);
      this.dummies.set(cost, d);
    }
    return d;
  }

  /**
   * True when `password` is the user's. Runs bcrypt whether or not the user
   * exists (against a dummy hash of the file's highest cost), so the time
   * taken does not tell which users exist.
   */
  async verify(user: string, password: string): Promise<boolean> {
    if (user.length > MAX_USER || Buffer.byteLength(password) > MAX_PASSWORD) return false;
    const parsed = await this.current();
    const entry = parsed?.entries.get(user);
    const hash = entry?.hash ?? (await this.dummy(dummyCost(parsed)));
    const ok = await bcrypt.compare(password, hash);
    return entry !== undefined && ok;
  }

  /** The {@link entryTag} of the user's current entry, or undefined when the user is not (any more) in the file. */
  async tagOf(user: string): Promise<string | undefined> {
    const entry = (await this.current())?.entries.get(user);
    return entry && entryTag(entry.hash);
  }
}
