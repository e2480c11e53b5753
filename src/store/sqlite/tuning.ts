/**
 * The numbers the SQLite store runs with (db.ts), each with what decided it: the WAL's size,
 * the page size and caches, and the group commit's timing.
 */

/**
 * The WAL starts over once it passes this size (checkpointer.ts). 16 MB: at the worst write rate
 * measured (~36 MB/s of WAL at 100 calls/s) one RESTART checkpoint every ~0.5 s, each holding
 * the write lock for a few ms; the file stays under WAL_BOUND_BYTES (README) with room for what
 * is written between two checks (200 ms). The file is cut back (journal_size_limit) only past
 * that bound: cut back to 16 MB at every restart, the writer's ftruncate stopped its event loop
 * for 3.7–7 ms, ~1.6 times a second at the fixed rate (strace), and the next log was written
 * into newly allocated blocks again.
 */
export const WAL_RESTART_BYTES = 16 * 1024 * 1024;
export const WAL_BOUND_BYTES = 64 * 1024 * 1024;
/**
 * The page size of a new database (SQLite's default is 4,096; an existing file keeps its own).
 * Every WAL frame is two write calls (header, page) at the commit and a read and a write at the
 * checkpoint, whatever the page's size, and a system call is the dear part on this machine: in
 * the store loop (bench/store-loop.ts, workload (b)'s writes, 40,000 deliveries, process CPU
 * with the checkpointer) 16 KB pages took 1.1 write calls a delivery instead of 2.7 and
 * ~48.6 µs a delivery instead of ~56.9 (four runs each), for 9.1 KB of WAL a delivery instead
 * of 5.5 (a half-filled page is larger). 8 KB sat between; 32 KB was slower again. In the full
 * bench, whose 1,000-event commits already share pages, less: (b) −2.3 µs a delivery (ab, 3 pairs).
 */
export const PAGE_SIZE = 16 * 1024;
/** dirty pages the writing connection holds before it spills: 64 MB (see the constructor) */
export const CACHE_SPILL_PAGES = (64 * 1024 * 1024) / PAGE_SIZE;
/**
 * The writing connection's page cache (KiB; SQLite's default 2,000). In a write transaction no
 * page is read through the map, so each miss was a 16 KB pread: ~0.9 a delivery in (b) (perf:
 * 31,900 of the API thread's 82,500 system calls in 4 s); with 8 MB ~900 (16, 32 MB: no fewer).
 */
export const WRITER_CACHE_KIB = 8 * 1024;
/**
 * A group commit starts at least this long after the one before when the one before held
 * several writes (writes are coming concurrently): under load the writes of ~2 ms share a
 * commit instead of those of one event-loop turn. A lone writer that waits for each commit
 * before its next write (one client posting events one at a time) is never held back: it
 * would be held to one write per 2 ms. At a few hundred commits a second nothing waits.
 *
 * Every commit rewrites the pages it touched (the tails of the tables and indexes, the
 * target's row): in the bench's run (workloads (a), (b) and the fixed rate, ~180,000
 * deliveries) commits fell from ~32,000 to ~23,000 and the WAL frames written, which the
 * checkpointer copies again, from ~817,000 to ~565,000 (3.3 GB to 2.3 GB; spacing every
 * commit, lone writers too: ~12,000 and ~501,000). The store alone shows why
 * (bench/store-loop.ts, before this spacing): 131 µs of CPU per delivery at 4 writes a
 * commit, 88 at 32, 64 at 128.
 */
export const COMMIT_SPACING_MS = 2;
/**
 * How long a lazy write (WriteOptions.lazy) may wait for another write's group commit before it
 * makes one of its own. Split mode's attempt results are such writes: while workload (b) drains
 * nothing else is written, and each results message (~40 results) made a commit of its own —
 * ~260 commits/s, each rewriting the same pages of `deliveries`, the attempts' tails and their
 * indexes: ~8 KB of WAL a delivery (/proc's wchar of the API thread), which the checkpointer
 * copies again. Held up to 20 ms: ~36 commits/s, ~2.6 KB a delivery; bench/ab.ts, three pairs:
 * CPU per 1,000 deliveries (b) −6.2 ms, (a) −5.0. Up to 50 ms since session 27: while (b) is
 * posted the writing thread is busy and most results waited 20–200 ms for their commit anyway;
 * `ab --together`, six pairs, (b) −2.2 ms per 1,000 (five of six pairs lower, the API thread's
 * share); with the checkpointer's tick at 500 ms too, −2.8 (not kept: within the noise, and the
 * WAL bound's margin is the tick's). A result waits in memory meanwhile (the queue has applied
 * it: claims do not wait), so a kill -9 may send up to ~50 ms more deliveries again, under their
 * webhook-id. Only split mode's are lazy. In one thread they stay eager: the
 * stream told of a result at its claim there until session 21 (now once it is committed, as in
 * split mode, so lazy ones would be possible there too; not measured).
 */
export const LAZY_MS = 50;
