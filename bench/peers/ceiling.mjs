// bench/peers/ceiling.mjs — the rig's ceiling: smtp-source straight into smtp-sink.
//
// No relay in between: the "peer" is the sink itself, so its row shows what
// the client, the sink and loopback can do together, and every other row is
// read against it. Its CPU and RSS columns are the sink's. It starts nothing
// of its own (run.mjs starts the sink for every peer alike).

export const name = 'ceiling';

/** Always available where the sink is (run.mjs checks smtp-sink itself). */
export function check() {
  return { ok: true, version: 'smtp-source → smtp-sink' };
}

/** The sink is the peer. */
export async function start({ sink }) {
  return {
    port: sink.port,
    roots: () => [sink.pid],
    log: () => '',
    async stop() {},
  };
}
