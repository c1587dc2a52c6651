/**
 * store/spool.ts — message bodies as files.
 *
 * A body is streamed straight to spool/q/XY/ID and fsync'd, and so is its
 * name (by the file's fsync on ext4, XFS and btrfs, else by its directory's,
 * see DirectoryFsync); only then does the queue database commit make it a
 * message. A file under q/ that no pending message refers to is a leftover (of
 * a crash before that commit, so never acknowledged, or after the last
 * delivery) and start-up removes it. The queue database refers to bodies by
 * queue id; this module knows nothing about recipients or states. A small
 * body (one write) is also kept in memory by its writer, for the hooks and
 * the first delivery.
 *
 * Shared bodies. Spam campaigns send one body to many recipients in separate
 * transactions, each with its own header block; held for weeks, those copies
 * add up. shareBody(ID) splits the single file after the first CRLF CRLF
 * (RFC 5322 section 2.1: the empty line ends the header section) and stores
 * it as two names: q/XY/ID.h (the header bytes, including that empty line)
 * and q/XY/ID.b, a hard link to the canonical body spool/bodies/AA/SHA256
 * (sha256 of the body bytes, AA its first two hex digits). The steps, each
 * durable before the next: canonical body written (tmp, fsync, link into
 * bodies/AA, fsync dir) unless it exists; ID.h written and fsync'd; ID.b
 * linked; q/XY fsync'd; only then ID unlinked (not fsync'd: a lost unlink
 * leaves both forms, which start-up resolves by keeping ID). So at every
 * point the single file or the whole pair is readable, and while the single
 * file exists it is the message (a pair beside it is a share cut short).
 * open() and size() give the original bytes either way, trying the single
 * file first: sharing only ever goes single → pair, so that order cannot miss
 * a message being shared meanwhile.
 *
 * A canonical body is owned by its links: remove() unlinks ID.b and then the
 * canonical when its link count is 1 (no message refers to it). The
 * canonical's name is not stored anywhere, so remove() re-hashes ID.b when
 * other links exist (one read, usually from the page cache as the campaign's
 * copies share it). A share racing that removal finds the canonical gone
 * (ENOENT on link) and writes it again; two shares of one body race to link
 * the canonical into place and the loser uses the winner's (EEXIST). A message
 * is shared only when it saves file system blocks: a body that fits in the
 * header's last block gains nothing. shareBody, remove and moveAside of one
 * id run one at a time within the process; across processes (the queue CLI)
 * the worst case is a part or a canonical body left with no message, which
 * start-up removes.
 *
 * It does not decide which messages to share (store/committer.ts does), nor
 * repair the spool at start-up (store/recover.ts does, with the methods here).
 */
import { randomUUID, createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { SmartholdError } from '../errors.js';
import { markCrlfClean } from '../util/crlf-clean.js';
import { isQueueId } from '../util/queue-id.js';
import type { InlineBodies } from './sqlite-hot.js';

/** A body being written. */
export interface SpoolWriter {
  readonly queueId: string;
  /** Appends bytes. */
  write(chunk: Buffer): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /**
   * Ends the body. A body kept in memory (see `body`) that may be stored with
   * its records (Spool.storesInline) waits for the committer's choice; another
   * is written, fsync'd and closed in the background; a larger one is complete
   * in its file when this resolves and its fsync runs on. commit() waits for
   * all of it and reports its errors.
   */
  finish(): Promise<void>;
  /**
   * After finish(): the whole body, when it was small enough to be written in
   * one piece (it is then kept for the hooks and the first delivery attempt
   * instead of being read back); otherwise undefined.
   */
  readonly body: Buffer | undefined;
  /** Reads the body back (for hooks, before commit). */
  open(): Readable;
  /**
   * Makes the body durable as a spool file (writing it now when it was kept
   * in memory) and waits for it; after this, abort() leaves the file. Not
   * called for a body stored with its records (Spool.storesInline).
   */
  commit(): Promise<void>;
  /** Removes the file unless committed. Safe to call more than once. */
  abort(): Promise<void>;
}

/** Which of a message's names exist (see {@link Spool.entry}). */
export interface SpoolEntry {
  /** The single file q/XY/ID. */
  readonly single: boolean;
  /** The header part q/XY/ID.h of a shared body. */
  readonly head: boolean;
  /** The link q/XY/ID.b to a canonical body. */
  readonly body: boolean;
}

/** Batch writes into chunks of this size to limit syscalls. */
const WRITE_BATCH = 256 * 1024;
/** Reads and copies go in chunks of this size. */
const READ_CHUNK = 64 * 1024;
/** The empty line that ends the header section (RFC 5322 section 2.1). */
const HEADER_END = Buffer.from('\r\n\r\n');
/** A canonical body removed under a share is written again at most this many times. */
const LINK_TRIES = 3;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The q/ subdirectory of a queue id: characters 6 and 7 of its time part,
 * which change every 961 ms and cycle through 961 names in about 15 minutes.
 * Messages arriving together share a directory, and so its fsync
 * (DirSyncer); over time they spread over all 961.
 */
export function subdirOf(queueId: string): string {
  return queueId.slice(5, 7);
}

interface Names {
  readonly dir: string;
  readonly single: string;
  readonly head: string;
  readonly body: string;
}

interface Split {
  /** Offset of the first body byte (just after CRLF CRLF). */
  readonly headerEnd: number;
  /** sha256 of the body bytes, hex. */
  readonly hash: string;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Group commit for directory fsyncs: a request is answered by an fsync that
 * starts after it (its entry was made before), so requests that arrive while
 * one is in flight share the next one. New bodies of the same second share a
 * directory (Spool.pathOf), so concurrent messages need one fsync between them.
 */
export class DirSyncer {
  private readonly dirs = new Map<string, DirState>();

  /** @param fsync how one directory is fsync'd (injectable for tests). */
  constructor(private readonly fsync: (dir: string) => Promise<void> = fsyncDir) {}

  sync(dir: string): Promise<void> {
    let s = this.dirs.get(dir);
    if (!s) {
      s = {};
      this.dirs.set(dir, s);
    }
    const state = s;
    if (!state.inFlight) return this.start(dir, state);
    state.next ??= state.inFlight
      .catch(() => undefined)
      .then(() => {
        state.next = undefined;
        return this.start(dir, state);
      });
    return state.next;
  }

  private start(dir: string, s: DirState): Promise<void> {
    const p = this.fsync(dir).finally(() => {
      if (s.inFlight === p) s.inFlight = undefined;
      if (!s.inFlight && !s.next && this.dirs.get(dir) === s) this.dirs.delete(dir);
    });
    s.inFlight = p;
    return p;
  }
}

/** A directory's fsync in flight, and the one that waits to start after it. */
interface DirState {
  inFlight?: Promise<void> | undefined;
  next?: Promise<void> | undefined;
}

/**
 * When a new spool file's directory entry needs a directory fsync of its own.
 * `auto`: not on ext2/3/4, XFS or btrfs, whose fsync of a newly created file
 * also makes its name durable (ext4 commits the transaction that created the
 * entry, or without a journal syncs the parent, ext4_sync_parent; XFS forces
 * the log with the create in it; btrfs logs the new name); on any other file
 * system, and with `always`, it is fsync'd too. Links and renames (shared
 * bodies, moveAside) always fsync their directories: they create no inode.
 */
export type DirectoryFsync = 'auto' | 'always';

/** statfs f_type of the file systems whose file fsync covers a new file's name. */
const NAME_DURABLE_WITH_FILE = new Set([
  0xef53, // ext2/3/4
  0x58465342, // XFS
  0x9123683e, // btrfs
]);

/** Whether new files in `dir` need their directory fsync'd as well (see DirectoryFsync). */
export function newNamesNeedDirFsync(dir: string, mode: DirectoryFsync): boolean {
  if (mode === 'always') return true;
  try {
    return !NAME_DURABLE_WITH_FILE.has(statfsSync(dir).type);
  } catch {
    return true;
  }
}

/** mkdir -p, with every directory it creates made durable in its parent. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d));
    if (d === first || d === path.dirname(d)) return;
  }
}

/** unlink(2); false when there was nothing to remove. */
async function unlinkIfThere(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

function shortRead(file: string): SmartholdError {
  return new SmartholdError('SMARTHOLD_STORE_CORRUPT', `${file} is shorter than its size`);
}

async function writeAll(out: FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length;) off += (await out.write(buf, off, buf.length - off)).bytesWritten;
}

/** Copies bytes [start, end) of `src` to the end of `out`. */
async function copyRange(src: FileHandle, start: number, end: number, out: FileHandle): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK, end - start)));
  for (let pos = start; pos < end;) {
    const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (!bytesRead) throw shortRead(`spool file (fd ${src.fd})`);
    await writeAll(out, buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/** Writes bytes [start, end) of `src` to a new file and fsyncs it. */
async function writeRange(src: FileHandle, start: number, end: number, target: string): Promise<void> {
  const out = await open(target, 'wx', 0o600);
  try {
    await copyRange(src, start, end, out);
    await out.sync();
  } finally {
    await out.close();
  }
}

/** Finds the end of the header section and hashes what follows, in one streaming read. */
async function splitAndHash(src: FileHandle, size: number): Promise<Split | undefined> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  const hash = createHash('sha256');
  let headerEnd = -1;
  let carry = Buffer.alloc(0);
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await src.read(buf, 0, Math.min(READ_CHUNK, size - pos), pos);
    if (!bytesRead) throw shortRead(`spool file (fd ${src.fd})`);
    const chunk = buf.subarray(0, bytesRead);
    if (headerEnd >= 0) hash.update(chunk);
    else {
      // The separator may straddle two reads: look in the last 3 bytes of the previous one too.
      const window = Buffer.concat([carry, chunk]);
      const at = window.indexOf(HEADER_END);
      if (at >= 0) {
        headerEnd = pos - carry.length + at + HEADER_END.length;
        hash.update(chunk.subarray(headerEnd - pos));
      } else carry = window.subarray(Math.max(0, window.length - (HEADER_END.length - 1)));
    }
    pos += bytesRead;
  }
  return headerEnd < 0 ? undefined : { headerEnd, hash: hash.digest('hex') };
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readParts([file])) hash.update(chunk);
  return hash.digest('hex');
}

/** True when storing the header apart takes fewer blocks than the whole message. */
function savesBlocks(size: number, headerEnd: number, blksize: number): boolean {
  const block = blksize > 0 ? blksize : 4096;
  return Math.ceil(size / block) > Math.ceil(headerEnd / block);
}

async function* readHandle(fh: FileHandle): AsyncGenerator<Buffer> {
  const { size } = await fh.stat();
  for (let pos = 0; pos < size;) {
    // A fresh buffer per chunk: the consumer may keep it.
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (!bytesRead) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Reads files one after the other; all are opened before the first byte is read. */
async function* readParts(files: readonly string[]): AsyncGenerator<Buffer> {
  const handles: FileHandle[] = [];
  try {
    for (const f of files) handles.push(await open(f, 'r'));
    for (const fh of handles) yield* readHandle(fh);
  } finally {
    await Promise.all(handles.map((fh) => fh.close().catch(() => undefined)));
  }
}

/**
 * A stream of a spooled message's chunks, each marked as CRLF-clean: the spool
 * holds only what ingress wrote, which normalised every line end.
 */
export function bodyStream(chunks: readonly Buffer[] | AsyncIterable<Buffer>): Readable {
  if (Array.isArray(chunks)) return Readable.from(chunks.map(markCrlfClean), { objectMode: false });
  return Readable.from(markEach(chunks as AsyncIterable<Buffer>), { objectMode: false });
}

async function* markEach(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const c of chunks) yield markCrlfClean(c);
}

/** Reads a message: the single file if it exists, else its header and body parts. */
async function* readMessage(n: Names): AsyncGenerator<Buffer> {
  let single: FileHandle;
  try {
    single = await open(n.single, 'r');
  } catch (err) {
    if (!isErrno(err, 'ENOENT') || !(await exists(n.head))) throw err;
    yield* readParts([n.head, n.body]);
    return;
  }
  try {
    yield* readHandle(single);
  } finally {
    await single.close();
  }
}

export class Spool {
  readonly tmpDir: string;
  readonly queueDir: string;
  readonly corruptDir: string;
  readonly bodiesDir: string;
  /** The tail of the operations queued per queue id (share, remove, move aside). */
  private readonly busy = new Map<string, Promise<void>>();
  /** Canonical bodies being written, by hash, so concurrent shares write each once. */
  private readonly creating = new Map<string, Promise<void>>();
  /** Queue subdirectories known to exist durably (they are never removed). */
  private readonly madeDirs = new Set<string>();
  private readonly dirSync = new DirSyncer();
  /** Bodies stored with their messages, and the largest stored so (see attachInline). */
  private inline: InlineBodies | undefined;
  private inlineMax = -1;
  /** Whether a new body's directory is fsync'd besides the body (see DirectoryFsync). */
  readonly syncsNewNames: boolean;

  constructor(
    readonly root: string,
    directoryFsync: DirectoryFsync = 'auto',
  ) {
    this.tmpDir = path.join(root, 'tmp');
    this.queueDir = path.join(root, 'q');
    this.corruptDir = path.join(root, 'corrupt');
    this.bodiesDir = path.join(root, 'bodies');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.queueDir, { recursive: true });
    this.syncsNewNames = newNamesNeedDirFsync(this.queueDir, directoryFsync);
  }

  /** The final path of a body (its single-file form). */
  pathOf(queueId: string): string {
    if (!isQueueId(queueId)) throw new Error(`not a queue id: ${queueId}`);
    return path.join(this.queueDir, subdirOf(queueId), queueId);
  }

  /** Where the canonical body with this sha256 (hex) lives. */
  canonicalPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.bodiesDir, sha256.slice(0, 2), sha256);
  }

  private namesOf(queueId: string): Names {
    const single = this.pathOf(queueId);
    return { dir: path.dirname(single), single, head: `${single}.h`, body: `${single}.b` };
  }

  /**
   * Starts writing a body, straight under its final name: until the queue
   * database refers to it, a body there is a leftover that start-up removes,
   * so no temp name and rename are needed. Bytes are kept in memory up to
   * 256 KB; the file is created when more arrive, or at finish() for a body
   * that cannot be stored with its records (see attachInline), or at commit().
   * An error in creating or writing it fails that write, finish() or commit().
   */
  create(queueId: string): Promise<SpoolWriter> {
    const finalPath = this.pathOf(queueId);
    const dir = path.dirname(finalPath);
    const inlineMax = this.inlineMax; // -1 without attachInline: every body is a file
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let flushed = false;
    let finished = false;
    let closed = false;
    let committed = false;
    let whole: Buffer | undefined;
    let opened: Promise<FileHandle> | undefined;
    /** The durability of the file's name, where its own fsync does not give it (syncsNewNames). */
    let nameSynced: Promise<void> = Promise.resolve();
    /** The file's write(s), fsync and close, and its name's fsync: commit() waits for them. */
    let durable: Promise<void> | undefined;
    const openFile = (): Promise<FileHandle> => {
      if (opened) return opened;
      const o = (async () => {
        // Queue subdirectories are never removed: make each durable once per process.
        if (!this.madeDirs.has(dir)) {
          await mkdirDurable(dir);
          this.madeDirs.add(dir);
        }
        return open(finalPath, 'wx', 0o600);
      })();
      o.catch(() => undefined);
      opened = o;
      // The directory's fsync starts once the name exists (shared with the messages arriving
      // meanwhile) and runs while the body arrives and the hooks run: started at finish() it
      // queued behind the one in flight (~4 ms per message at 5 KB x10).
      if (this.syncsNewNames) {
        nameSynced = o.then(() => this.dirSync.sync(dir));
        nameSynced.catch(() => undefined);
      }
      return o;
    };
    const close = async (): Promise<void> => {
      if (!closed && opened) {
        closed = true;
        await (await opened.catch(() => undefined))?.close();
      }
    };
    const flush = async (): Promise<void> => {
      if (!pendingBytes) return;
      const buf = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      flushed = true;
      await writeAll(await openFile(), buf);
    };
    /**
     * Makes the file durable in the background: writes `all` (the body kept in memory) when
     * given, fsyncs and closes it; commit() waits for that and for its name's fsync.
     */
    const persist = (all?: Buffer): void => {
      const fileSynced = openFile()
        .then(async (fh) => {
          if (all) await writeAll(fh, all);
          await fh.sync();
        })
        .finally(close);
      durable = Promise.all([fileSynced, nameSynced]).then(() => undefined);
      durable.catch(() => undefined);
    };
    return Promise.resolve({
      queueId,
      get size() {
        return size;
      },
      get body() {
        return whole;
      },
      async write(chunk) {
        size += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH) await flush();
      },
      async finish() {
        finished = true;
        if (!flushed) {
          // All of it is in memory, where the hooks and the first delivery read it. A body too big
          // to go with its records is written meanwhile; the others wait for commit() (a spool
          // file after all) or go with their records.
          const all = Buffer.concat(pending, pendingBytes);
          whole = all;
          pending = [];
          pendingBytes = 0;
          if (size > inlineMax) persist(all);
          return;
        }
        // The hooks read the file: it must be complete first; the fsync runs while they do.
        await flush();
        persist();
      },
      open: () =>
        whole === undefined ? createReadStream(finalPath) : Readable.from([whole], { objectMode: false }),
      commit: async () => {
        if (!finished) throw new Error('SpoolWriter.commit() before finish()');
        if (durable === undefined && whole !== undefined) persist(whole);
        await durable;
        committed = true;
      },
      async abort() {
        await durable?.catch(() => undefined);
        await close().catch(() => undefined);
        // Once committed the body belongs to the queue: only the queue removes it. A file that
        // could not be created is not ours to remove.
        const made = await opened?.then(
          () => true,
          () => false,
        );
        if (!committed && made) await unlinkIfThere(finalPath);
      },
    });
  }

  /**
   * Lets bodies of up to `maxSize` octets be stored with their message's
   * records (NewMessage.body) instead of in a spool file: one fsync of the
   * database's write-ahead log makes both durable, and no file is created,
   * fsync'd or removed. open(), size() and remove() look there first.
   */
  attachInline(bodies: InlineBodies, maxSize: number): void {
    this.inline = bodies;
    this.inlineMax = maxSize;
  }

  /** Whether a finished writer's body may be stored with its records (see attachInline). */
  storesInline(writer: SpoolWriter): boolean {
    return this.inline !== undefined && writer.body !== undefined && writer.size <= this.inlineMax;
  }

  /** Whether a committed message's body is stored with its records (see attachInline). */
  storedWithRecords(queueId: string): boolean {
    return this.inline?.size(queueId) !== undefined;
  }

  /** Removes bodies stored with messages that have no pending recipient (start-up); how many. */
  sweepInline(): number {
    return this.inline?.sweep() ?? 0;
  }

  /**
   * Reads a committed message: the exact bytes received, shared or not.
   * A missing message is an 'error' event (ENOENT) on the stream.
   */
  open(queueId: string): Readable {
    const stored = this.inline?.read(queueId);
    if (stored) return bodyStream([stored]);
    return bodyStream(readMessage(this.namesOf(queueId)));
  }

  /** Size of a committed message (both parts when shared), or undefined when it is missing. */
  async size(queueId: string): Promise<number | undefined> {
    const stored = this.inline?.size(queueId);
    if (stored !== undefined) return stored;
    const n = this.namesOf(queueId);
    try {
      return (await stat(n.single)).size;
    } catch {
      try {
        const [h, b] = await Promise.all([stat(n.head), stat(n.body)]);
        return h.size + b.size;
      } catch {
        return undefined;
      }
    }
  }

  /** Which names of a message exist (for the start-up check). */
  async entry(queueId: string): Promise<SpoolEntry> {
    const n = this.namesOf(queueId);
    const [single, head, body] = await Promise.all([exists(n.single), exists(n.head), exists(n.body)]);
    return { single, head, body };
  }

  /**
   * Stores the body of a committed message once, shared with every other
   * message with the same body. True when the message is (now) shared; false
   * when it stays a single file (no header/body separator, or nothing to
   * gain). Throws SMARTHOLD_STORE_WRITE (or _CORRUPT) when it could not; the
   * message is then still whole as a single file.
   *
   * @example
   * if (recipients.every((r) => r.state === 'hold')) await spool.shareBody(queueId);
   */
  async shareBody(queueId: string): Promise<boolean> {
    // A body stored with its records is not a file: nothing to share.
    if (this.storedWithRecords(queueId)) return false;
    return this.exclusive(queueId, () => this.share(this.namesOf(queueId), queueId));
  }

  /** Deletes a committed message (either form) and its canonical body when no other message uses it. */
  async remove(queueId: string): Promise<void> {
    if (this.inline?.drop(queueId)) return;
    await this.exclusive(queueId, () => this.removeNames(this.namesOf(queueId)));
  }

  /**
   * Moves a damaged message to spool/corrupt/ for the operator to look at;
   * returns its new path. A shared message becomes one file again there
   * (what is left of its parts, in order) and its parts are removed.
   */
  async moveAside(queueId: string): Promise<string> {
    return this.exclusive(queueId, async () => {
      const n = this.namesOf(queueId);
      await mkdirDurable(this.corruptDir);
      const target = path.join(this.corruptDir, queueId);
      try {
        await rename(n.single, target);
        return target;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      const parts = [];
      for (const p of [n.head, n.body]) if (await exists(p)) parts.push(p);
      if (!parts.length) throw new SmartholdError('SMARTHOLD_STORE_CORRUPT', `no spool file for ${queueId}`);
      const tmp = path.join(this.tmpDir, `corrupt.${randomUUID()}`);
      await this.concatInto(parts, tmp);
      await rename(tmp, target);
      await fsyncDir(this.corruptDir);
      await this.removeNames(n);
      return target;
    });
  }

  /**
   * Removes the .h/.b of a share cut short by a crash, when the single file
   * (the message) is there. Returns true when it removed something.
   */
  async discardPartialShare(queueId: string): Promise<boolean> {
    return this.exclusive(queueId, async () => {
      const n = this.namesOf(queueId);
      const e = await this.entry(queueId);
      if (!e.single || (!e.head && !e.body)) return false;
      await rm(n.head, { force: true });
      await this.unlinkBody(n.body);
      return true;
    });
  }

  /** Removes canonical bodies no message links to (left by a crash). Returns how many. */
  async sweepBodies(): Promise<number> {
    let removed = 0;
    let subs: string[];
    try {
      subs = await readdir(this.bodiesDir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      throw err;
    }
    for (const sub of subs) {
      for (const name of await readdir(path.join(this.bodiesDir, sub))) {
        if (!SHA256_HEX.test(name)) continue;
        if (await this.dropIfUnused(name)) removed++;
      }
    }
    return removed;
  }

  /** Removes temp files left by a crash (never acknowledged, so never owed). Returns their names. */
  sweepTemp(): string[] {
    const names = readdirSync(this.tmpDir);
    for (const n of names) rmSync(path.join(this.tmpDir, n), { force: true });
    return names;
  }

  /**
   * Moves spool files found in another q/ subdirectory than subdirOf() names
   * (a spool written by a version that placed them by the id's last two
   * characters) to where this version looks for them. Start-up only, before
   * anything else reads the spool. Returns how many names moved.
   */
  relocateMisplaced(): number {
    let moved = 0;
    const touched = new Set<string>();
    for (const sub of readdirSync(this.queueDir)) {
      for (const n of readdirSync(path.join(this.queueDir, sub))) {
        const id = n.endsWith('.h') || n.endsWith('.b') ? n.slice(0, -2) : n;
        if (!isQueueId(id) || subdirOf(id) === sub) continue;
        const target = path.join(this.queueDir, subdirOf(id));
        mkdirSync(target, { recursive: true });
        renameSync(path.join(this.queueDir, sub, n), path.join(target, n));
        touched.add(target).add(path.join(this.queueDir, sub));
        moved++;
      }
    }
    if (touched.size) touched.add(this.queueDir);
    for (const d of touched) {
      const fd = openSync(d, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return moved;
  }

  /** Every committed message's queue id, once whatever its form. */
  listCommitted(): string[] {
    return [...this.listEntries().keys()];
  }

  /** Every committed message with the names it has, from one directory walk (no stat). */
  listEntries(): Map<string, SpoolEntry> {
    const out = new Map<string, SpoolEntry>();
    for (const sub of readdirSync(this.queueDir)) {
      for (const n of readdirSync(path.join(this.queueDir, sub))) {
        const suffix = n.endsWith('.h') || n.endsWith('.b') ? n.slice(-1) : '';
        const id = suffix ? n.slice(0, -2) : n;
        if (!isQueueId(id)) continue;
        const e = out.get(id) ?? { single: false, head: false, body: false };
        out.set(id, {
          single: e.single || !suffix,
          head: e.head || suffix === 'h',
          body: e.body || suffix === 'b',
        });
      }
    }
    return out;
  }

  /** Runs `fn` after every earlier share/remove/moveAside of the same id. */
  private async exclusive<T>(queueId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.busy.get(queueId) ?? Promise.resolve();
    const run = before.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(queueId, tail);
    try {
      return await run;
    } finally {
      if (this.busy.get(queueId) === tail) this.busy.delete(queueId);
    }
  }

  private async share(n: Names, queueId: string): Promise<boolean> {
    let src: FileHandle;
    try {
      src = await open(n.single, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT') && (await this.entry(queueId)).body) return true;
      throw new SmartholdError('SMARTHOLD_STORE_CORRUPT', `no spool file for ${queueId}`, { cause: err });
    }
    try {
      const st = await src.stat();
      const split = await splitAndHash(src, st.size);
      if (!split || !savesBlocks(st.size, split.headerEnd, st.blksize)) return false;
      await this.writePair(n, src, st.size, split);
    } catch (err) {
      if (err instanceof SmartholdError) throw err;
      throw new SmartholdError('SMARTHOLD_STORE_WRITE', `could not share the body of ${queueId}`, {
        cause: err,
      });
    } finally {
      await src.close();
    }
    // The pair is durable: the single file may go. No fsync: should the unlink be lost in a crash,
    // start-up finds both forms, keeps the single file and drops the pair.
    try {
      await unlink(n.single);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      // Deleted meanwhile by another process (the queue CLI): the pair must go too.
      await this.removeNames(n);
      return false;
    }
    return true;
  }

  /** Writes ID.h and links ID.b, both durable; on failure removes what it made. */
  private async writePair(n: Names, src: FileHandle, size: number, split: Split): Promise<void> {
    // While the single file exists, a pair beside it is a leftover.
    await rm(n.head, { force: true });
    await this.unlinkBody(n.body);
    try {
      await writeRange(src, 0, split.headerEnd, n.head);
      await this.linkBody(src, size, split, n.body);
      await fsyncDir(n.dir);
    } catch (err) {
      await rm(n.head, { force: true }).catch(() => undefined);
      await this.unlinkBody(n.body).catch(() => undefined);
      throw err;
    }
  }

  /** Links the canonical body to `target`, writing the canonical first when it is missing. */
  private async linkBody(src: FileHandle, size: number, split: Split, target: string): Promise<void> {
    for (let tries = 1; ; tries++) {
      const canonical = await this.ensureCanonical(src, size, split);
      try {
        await link(canonical, target);
        break;
      } catch (err) {
        // Removed by the last message using it, between our check and the link: write it again.
        if (!isErrno(err, 'ENOENT') || tries >= LINK_TRIES) throw err;
      }
    }
    const linked = await stat(target);
    if (linked.size !== size - split.headerEnd) {
      throw new SmartholdError(
        'SMARTHOLD_STORE_CORRUPT',
        `canonical body ${split.hash} has ${linked.size} octets, expected ${size - split.headerEnd}`,
      );
    }
  }

  private async ensureCanonical(src: FileHandle, size: number, split: Split): Promise<string> {
    const canonical = this.canonicalPath(split.hash);
    if (await exists(canonical)) return canonical;
    let writing = this.creating.get(split.hash);
    if (!writing) {
      writing = this.writeCanonical(src, split.headerEnd, size, canonical).finally(() => {
        this.creating.delete(split.hash);
      });
      this.creating.set(split.hash, writing);
    }
    await writing;
    return canonical;
  }

  /** tmp → fsync → link into bodies/AA (never over an existing one) → fsync dir. */
  private async writeCanonical(
    src: FileHandle,
    start: number,
    end: number,
    canonical: string,
  ): Promise<void> {
    const dir = path.dirname(canonical);
    await mkdirDurable(dir);
    const tmp = path.join(this.tmpDir, `body.${randomUUID()}`);
    try {
      await writeRange(src, start, end, tmp);
      try {
        await link(tmp, canonical);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      await fsyncDir(dir);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async removeNames(n: Names): Promise<void> {
    // The common case in one syscall: a single file. Both forms exist at once only after a
    // crash mid-share (start-up repairs that) or inside exclusive(), which serialises this.
    if (await unlinkIfThere(n.single)) return;
    await unlinkIfThere(n.head);
    await this.unlinkBody(n.body);
  }

  /** Unlinks a message's ID.b, then its canonical body if nothing else links to it. */
  private async unlinkBody(file: string): Promise<void> {
    let links: number;
    try {
      links = (await stat(file)).nlink;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    // Alone: the canonical is gone (or another inode), nothing to look up.
    const hash = links > 1 ? await hashFile(file) : undefined;
    await rm(file, { force: true });
    if (hash !== undefined) await this.dropIfUnused(hash);
  }

  /** Removes a canonical body whose only link is its own name. True when removed. */
  private async dropIfUnused(hash: string): Promise<boolean> {
    const canonical = this.canonicalPath(hash);
    try {
      if ((await stat(canonical)).nlink !== 1) return false;
      await unlink(canonical);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  private async concatInto(files: readonly string[], target: string): Promise<void> {
    const out = await open(target, 'wx', 0o600);
    try {
      for await (const chunk of readParts(files)) await writeAll(out, chunk);
      await out.sync();
    } finally {
      await out.close();
    }
  }
}
