/**
 * worker.ts — a scanning worker thread, started by pool.ts.
 *
 * It loads the model (shipped or configured, plus the local learnt layer) once
 * and keeps it: the main thread holds no model. For each request it runs the
 * same engine as the in-process scanner (MIME parse, tokenize,
 * classify, rules) on the bytes the main thread transferred, and answers with
 * the verdict. A request that throws is answered with `failed`; the worker
 * carries on. Learning adds to this worker's local layer; only the worker
 * started with `writesLocal` saves the layer file.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadLayered } from './model.js';
import { BayesEngine } from './engine.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

if (isMainThread || parentPort === null)
  throw new Error('bayes: worker.js runs in a worker thread started by the bayes plugin');
const port = parentPort;
const setup = workerData as WorkerSetup;

const send = (reply: WorkerReply): void => {
  port.postMessage(reply);
};
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Test support (`faults`): `X-Bayes-Test-Fault:` in the head makes this request
 * throw (`throw`), the worker exit (`exit`) or die of an uncaught exception
 * (`crash`), or leaves the request unanswered (`hang`).
 */
const FAULT = /^X-Bayes-Test-Fault: *([a-z]+)/im;

async function injectFault(raw: Buffer): Promise<void> {
  const kind = FAULT.exec(raw.toString('latin1', 0, 4096))?.[1]?.toLowerCase();
  if (kind === 'throw') throw new Error('injected fault: this message makes the scan throw');
  if (kind === 'exit') process.exit(70);
  if (kind === 'crash') {
    setImmediate(() => {
      throw new Error('injected fault: an uncaught exception in the worker');
    });
    await new Promise(() => undefined); // never answered: the worker dies first
  }
  if (kind === 'hang') await new Promise(() => undefined);
}

async function handle(engine: BayesEngine, request: WorkerRequest): Promise<void> {
  try {
    const raw = Buffer.from(request.bytes);
    if (setup.faults === true) await injectFault(raw);
    if (request.op === 'scan') {
      send({ op: 'scanned', id: request.id, verdict: await engine.scanBytes(raw, request.truncated) });
      return;
    }
    await engine.addToLocal(raw, request.label);
    let saveError: string | undefined;
    if (setup.writesLocal) {
      try {
        await engine.saveLocal();
      } catch (err) {
        saveError = messageOf(err);
      }
    }
    send({
      op: 'learnt',
      id: request.id,
      counts: engine.messageCounts,
      ...(saveError === undefined ? {} : { saveError }),
    });
  } catch (err) {
    send({ op: 'failed', id: request.id, message: messageOf(err) });
  }
}

let engine: BayesEngine | undefined;
try {
  const { localPath } = setup;
  if (localPath !== undefined && setup.writesLocal) await mkdir(dirname(localPath), { recursive: true });
  engine = new BayesEngine({
    model: await loadLayered(setup.modelPath, localPath),
    threshold: setup.threshold,
    maxScanBytes: setup.maxScanBytes,
    ...(localPath !== undefined && setup.writesLocal ? { localPath } : {}),
  });
} catch (err) {
  // No listener is left behind: the worker ends once this message is sent.
  send({ op: 'start-failed', message: messageOf(err) });
}
if (engine !== undefined) {
  const ready = engine;
  port.on('message', (request: WorkerRequest) => {
    void handle(ready, request);
  });
  send({ op: 'ready', info: ready.modelInfo, counts: ready.messageCounts });
}
