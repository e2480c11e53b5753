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
  async stop() {
    await h.stop();
    return true;
  },
});
process.on('SIGTERM', () => {
  h.stop().finally(() => process.exit(0));
});
