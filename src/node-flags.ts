/**
 * The V8 flags Hookline runs with. They must be on node's command line (V8 sizes a heap when it
 * creates it; `v8.setFlagsFromString` later changes nothing), so they are written out where
 * Hookline is started: `npm start`, the `hookline` bin's shebang (`env -S`), the bench's and the
 * tests' child processes (test/node-flags.test.ts holds those to this list). The delivery thread
 * gets the same young generation through its resourceLimits when node was started without it
 * (a flag on the command line, when there is one, wins over a worker's resourceLimits).
 *
 * --max-semi-space-size=4 (MB; V8's default here is 16, and it grows the space under load):
 * scavenges often and short instead of every ~3 s with pauses of 5–35 ms on the delivery
 * thread (--trace-gc, the bench's fixed rate after its full-speed phases). With 8 MB: pauses
 * ≤ 4 ms, fixed-rate p99 31–33 → 18–30 ms in full runs; bench/ab.ts against the default, three
 * pairs: CPU per 1,000 deliveries (b) −5.5, (a) −10.1 ms. With 4 MB: p99 14 ms in a full run,
 * 15–18 in ab's short phases (19–24 with 8), for +3–4 ms of CPU per 1,000 deliveries against
 * 8 (ab, three pairs): item 3 of issue 10 (p99 < 25 ms) is a bound, the CPU a small cost.
 * Larger spaces (64, 128) were tried in sessions 5–6 and 11: no gain.
 */
export const SEMI_SPACE_MB = 4;
export const NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`];
/** a worker's young generation with the same semi-space (V8: three semi-spaces' worth) */
export const WORKER_YOUNG_GENERATION_MB = 3 * SEMI_SPACE_MB;
/**
 * The delivery thread's old generation is capped at 2,000 MB (V8's default here is ~4,100):
 * under a 2 GB limit V8's heap controller grows the old generation by 1.3–2 × what survives a
 * full GC instead of 4 × (kMaxSize 1,024 MB × kHeapLimitMultiplier 2), so the thread's heap
 * peaks lower: 123 → 72 MB in workload (b), 233 → 126–134 MB with a dead target's backlog
 * (session 12, before the queue's window), for no CPU (bench/ab.ts, three pairs: (b) −3.5,
 * (a) −2.3 µs a delivery). Safe since the queue holds at most a window per target in memory
 * (store/sqlite/entries.ts Windows): the thread's live data no longer grows with a backlog.
 */
export const WORKER_OLD_GENERATION_MB = 2000;

