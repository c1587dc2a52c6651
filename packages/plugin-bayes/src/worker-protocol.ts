/**
 * worker-protocol.ts — the messages between the scanner pool (pool.ts, main
 * thread) and a scanning worker (worker.ts). Types only.
 *
 * The main thread reads the message head and transfers its bytes; the worker
 * parses, tokenizes, classifies and applies the rules, and answers with the
 * verdict. Every request carries an id that its one answer repeats.
 */
import type { ScanVerdict } from '@smarthold/core';
import type { ModelInfo } from './model.js';

/** What a worker is started with (`workerData`). */
export interface WorkerSetup {
  readonly modelPath: string;
  /** The local layer file, loaded on top of the model; absent when learning is off. */
  readonly localPath?: string;
  /** True for the one worker that saves the local layer after learning. */
  readonly writesLocal: boolean;
  readonly threshold: number;
  readonly maxScanBytes: number;
  /** Test support: a message with an `X-Bayes-Test-Fault:` header makes the worker fail (see worker.ts). */
  readonly faults?: boolean;
}

/** Main thread → worker. `bytes` is the message head (at most max_scan_bytes). */
export type WorkerRequest =
  | { readonly op: 'scan'; readonly id: number; readonly bytes: ArrayBuffer; readonly truncated: boolean }
  | {
      readonly op: 'learn';
      readonly id: number;
      readonly bytes: ArrayBuffer;
      readonly label: 'spam' | 'ham';
    };

/** Training messages behind a worker's model (shipped plus learnt). */
export interface MessageCounts {
  readonly nspam: number;
  readonly nham: number;
}

/** Worker → main thread. */
export type WorkerReply =
  /** The model is loaded; the worker takes requests. */
  | { readonly op: 'ready'; readonly info: ModelInfo; readonly counts: MessageCounts }
  /** The model could not be loaded; the worker ends. */
  | { readonly op: 'start-failed'; readonly message: string }
  | { readonly op: 'scanned'; readonly id: number; readonly verdict: ScanVerdict }
  /** Learnt into memory; `saveError` when the writing worker could not save the layer file. */
  | {
      readonly op: 'learnt';
      readonly id: number;
      readonly counts: MessageCounts;
      readonly saveError?: string;
    }
  /** The request threw in the worker (the worker carries on). */
  | { readonly op: 'failed'; readonly id: number; readonly message: string };
