/**
 * The V8 flags Hookline runs with: none at present. Flags must be on node's command line (V8
 * sizes a heap when it creates it; `v8.setFlagsFromString` later changes nothing), so any are
 * written out where Hookline is started: `npm start`, the `hookline` bin's shebang (`env -S`),
 * the bench's and the tests' child processes (test/node-flags.test.ts holds those to this list).
 *
 * The delivery thread's young generation: semi-spaces of 16 MB, set through the worker's
 * resourceLimits (V8's default here is also 16 at most, but it starts small and grows the space
 * under load). Session 13 set 4 MB: the delivery thread then allocated ~20 KB a delivery and
 * kept more of it alive, the default's scavenges paused 5–35 ms (fixed-rate p99 31–33 ms with
 * 8 MB, 14 with 4). Since session 15 it allocates ~12 KB a delivery and little survives: in (b)
 * (--trace-gc-nvp, bench/gc-trace.ts) 4 MB made 147 scavenges, 508 ms of pauses, 112 MB
 * surviving and 72 MB promoted; 16 MB 32 scavenges, 247 ms, 77 MB and 49 MB. In the fixed rate
 * a scavenge pauses ~3.5 ms instead of ~1.6, one a second instead of four, and fewer promoted
 * objects brought 2 full GCs instead of 6: p99 14–23 ms in 20–30 s fixed-rate runs (17–20 with
 * 4 MB the same hour). CPU per 1,000 deliveries in (b), bench/ab.ts: pair differences −41, −16,
 * −9, −17 ms (+18 and +25 in the two sets' first runs, this side first), the delivery thread's
 * share most of it. Item 3 of issue 10 (p99 < 25 ms) is the bound to watch.
 *
 * The main thread keeps V8's default (session 13). Until then `--max-semi-space-size=4` was on
 * the command line, which also set the main thread's (a flag on the command line wins over a
 * worker's resourceLimits); in split mode the main thread ingests, renders and writes — a 1,000-
 * event request's objects live across many 4 MB scavenges and were promoted. bench/ab.ts, three
 * pairs, against the flag: CPU per 1,000 deliveries (b) −6.0 (main −1.7, delivery −1.8, GC
 * helpers −2.9), (a) −6.2 ms; a fixed-rate-only run's p99 5 ms (4 with the flag, same machine).
 * Where the dispatcher runs on the main thread (PostgreSQL, --threads 1, SIP) it now has V8's
 * default too.
 */
export const NODE_FLAGS: readonly string[] = [];
export const SEMI_SPACE_MB = 16;
/** the delivery thread's young generation (V8: three semi-spaces' worth) */
export const WORKER_YOUNG_GENERATION_MB = 3 * SEMI_SPACE_MB;
/**
 * The delivery thread's old generation may grow to 4,096 MB (its live data is bounded by the
 * queue's windows, store/sqlite/entries.ts Windows, so this is room to grow, not memory used).
 * Why not less: V8's heap controller grows the old generation to 1.3–2 × what survives a full GC
 * under a limit below ~2 GB, 4 × above it. Session 12 capped it at 2,000 MB to keep the heap
 * peak low (before the windows bounded a backlog); in workload (b) the thread then ran a full GC
 * every ~18 MB promoted, each marking its ~36 MB of live data: 6 full GCs, 1,156 ms of V8's
 * helper threads marking (`--trace-gc-nvp`, bench/gc-trace.ts). With 4,096: 2 full GCs, 384 ms.
 * bench/ab.ts (session 25), CPU per 1,000 deliveries: three pairs, "other" (the GC helpers)
 * −4.7 ms in (b) and −6.8 in (a), every pair lower, totals −2.7 and −9.9; four more pairs, (b)
 * −10.0 total (every pair lower: −29.6, −14.3, −4.4, −5.8), "other" −6.2, (a) −13.2. The price
 * is memory: Hookline's RSS peak in a full `npm run bench` 485–509 → 545–652 MB (the thread's
 * heap may reach ~4 × its live data before a full GC). With a 100,000 backlog (`--backlog
 * 100000`): RSS growth 17 MB (≤ 100), slowdown 11.2 % (< 20), the thread's heap peak 113 MB
 * without the backlog and 122 with it.
 */
export const WORKER_OLD_GENERATION_MB = 4096;

