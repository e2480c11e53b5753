/**
 * Hookline under test, in its own process (run it with --cpu-prof to profile it): the real
 * composition root with the real config parser, so the bench measures what `hookline serve`
 * runs. The environment is not read (flags only): a DATABASE_URL or LOG_LEVEL in the shell must
 * not change what is measured. Tells the parent its URL over IPC and stops cleanly on `stop`.
 */
import { loadConfig } from '../src/config.ts';
import { createHookline } from '../src/hookline.ts';
import { serveParent, usage } from './ipc.ts';

const h = await createHookline(loadConfig(process.argv.slice(2), {}));
await h.start();
serveParent({ url: h.url, backend: h.store.backend }, {
  usage,
  /** resident set size in bytes, where /proc cannot be read from the parent (bench/rss.ts) */
  rss: () => process.memoryUsage.rss(),
  /** V8 heap in use right after a full GC (needs --expose-gc): what the process holds on to, without an RSS's GC slack */
  heapAfterGc() {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  },
  async stop() {
    await h.stop();
    return true;
  },
});
process.on('SIGTERM', () => {
  h.stop().finally(() => process.exit(0));
});
