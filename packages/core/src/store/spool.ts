/**
 * store/spool.ts — message bodies as files.
 *
 * A body is streamed to spool/tmp/ID, fsync'd, then renamed to
 * spool/q/XY/ID and the directory fsync'd, so a body that exists under q/ is
 * whole. The queue database refers to bodies by queue id; this module knows
 * nothing about recipients or states.
 */
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isQueueId } from '../util/queue-id.js';

/** A body being written. */
export interface SpoolWriter {
  readonly queueId: string;
  /** Appends bytes. */
  write(chunk: Buffer): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /** Flushes to disk (fsync); after this the temp file is whole. */
  finish(): Promise<void>;
  /** Reads the temp file back (for hooks, before commit). */
  open(): Readable;
  /** Makes the body durable under its final name. */
  commit(): Promise<void>;
  /** Removes the temp file. Safe to call more than once. */
  abort(): Promise<void>;
}

/** Batch writes into chunks of this size to limit syscalls. */
const WRITE_BATCH = 256 * 1024;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class Spool {
  readonly tmpDir: string;
  readonly queueDir: string;
  readonly corruptDir: string;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
    this.queueDir = path.join(root, 'q');
    this.corruptDir = path.join(root, 'corrupt');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.queueDir, { recursive: true });
  }

  /** The final path of a body. */
  pathOf(queueId: string): string {
    if (!isQueueId(queueId)) throw new Error(`not a queue id: ${queueId}`);
    return path.join(this.queueDir, queueId.slice(-2), queueId);
  }

  /** Starts writing a body. */
  async create(queueId: string): Promise<SpoolWriter> {
    const tmp = path.join(this.tmpDir, queueId);
    const finalPath = this.pathOf(queueId);
    const fh: FileHandle = await open(tmp, 'wx', 0o600);
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let closed = false;
    const flush = async (): Promise<void> => {
      if (!pendingBytes) return;
      const buf = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await fh.write(buf, 0, buf.length);
    };
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      queueId,
      get size() {
        return size;
      },
      async write(chunk) {
        size += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH) await flush();
      },
      async finish() {
        await flush();
        await fh.sync();
        await close();
      },
      open: () => createReadStream(tmp),
      async commit() {
        const dir = path.dirname(finalPath);
        mkdirSync(dir, { recursive: true });
        await rename(tmp, finalPath);
        await fsyncDir(dir);
      },
      async abort() {
        await close().catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }

  /** Reads a committed body. */
  open(queueId: string): Readable {
    return createReadStream(this.pathOf(queueId));
  }

  /** Size of a committed body, or undefined when it is missing. */
  async size(queueId: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(queueId))).size;
    } catch {
      return undefined;
    }
  }

  /** Deletes a committed body. */
  async remove(queueId: string): Promise<void> {
    await rm(this.pathOf(queueId), { force: true });
  }

  /** Moves a damaged body to spool/corrupt/ for the operator to look at; returns its new path. */
  async moveAside(queueId: string): Promise<string> {
    mkdirSync(this.corruptDir, { recursive: true });
    const target = path.join(this.corruptDir, queueId);
    await rename(this.pathOf(queueId), target);
    return target;
  }

  /** Removes temp files left by a crash (never acknowledged, so never owed). Returns their ids. */
  sweepTemp(): string[] {
    const names = readdirSync(this.tmpDir);
    for (const n of names) rmSync(path.join(this.tmpDir, n), { force: true });
    return names;
  }

  /** Every committed body's queue id. */
  listCommitted(): string[] {
    const out: string[] = [];
    for (const sub of readdirSync(this.queueDir)) {
      for (const n of readdirSync(path.join(this.queueDir, sub))) if (isQueueId(n)) out.push(n);
    }
    return out;
  }
}
