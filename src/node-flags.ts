/**
 * The V8 flags Hookline runs with. They must be on node's command line (V8 sizes a heap when it
 * creates it; `v8.setFlagsFromString` later changes nothing), so they are written out where
 * Hookline is started: `npm start`, the `hookline` bin's shebang (`env -S`), the bench's and the
 * tests' child processes (test/node-flags.test.ts holds those to this list). The delivery thread
 * gets the same young generation through its resourceLimits, whatever the command line said.
 *
 * --max-semi-space-size=8 (MB; V8's default here is 16, and it grows the space under load):
 * scavenges every ~0.3 s instead of every ~3 s, each pausing ≤ 4 ms instead of 5–35 ms on the
 * delivery thread (--trace-gc, the bench's fixed rate after its full-speed phases). Fixed-rate
 * event→receipt p99 31–33 → 18 ms; bench/ab.ts, three pairs: CPU per 1,000 deliveries (b) −5.5,
 * (a) −10.1 ms. Larger spaces (64, 128) were tried in sessions 5–6: no gain.
 */
export const SEMI_SPACE_MB = 8;
export const NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`];
/** a worker's young generation with the same semi-space (V8: three semi-spaces' worth) */
export const WORKER_YOUNG_GENERATION_MB = 3 * SEMI_SPACE_MB;
