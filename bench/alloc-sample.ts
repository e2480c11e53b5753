/**
 * Allocation sampling for the Hookline processes under the bench, every thread, garbage
 * included (V8's sampling heap profiler with the objects collected by GC kept, which
 * `node --heap-prof` leaves out: it reports only what is live at exit).
 *
 *   npm run bench -- --no-peers --repeat 1 --node-args=--import=./bench/alloc-sample.ts
 *   node bench/alloc-summary.ts .bench/alloc/*.json
 *
 * Each thread writes `.bench/alloc/t<thread>-<pid>.json` every 5 s (the last write is the whole
 * run). With HL_ALLOC_SURVIVORS=1 in the environment the objects a young-generation GC collected
 * are left out: what remains is what was promoted to the old generation (or is still live), the
 * allocations that cost the scavenger copies and the full GC its marking. GC takes ~15 µs of CPU per delivery (README "Where the time goes"): this says who
 * allocates what it collects.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

const DIR = path.resolve('.bench', 'alloc');
mkdirSync(DIR, { recursive: true });
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
// one sample per 32 KiB allocated: ~100,000 samples in a full run, a few % of CPU
session.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.HL_ALLOC_SURVIVORS !== '1' });
setInterval(() => {
  session.post('HeapProfiler.getSamplingProfile', (err, r) => {
    if (!err) writeFileSync(path.join(DIR, `t${threadId}-${process.pid}.json`), JSON.stringify(r.profile));
  });
}, 5_000).unref();
