/**
 * engine.ts KEEP_MS: a step whose call's next step falls due soon is written with that timer
 * leased to the engine, which plays it itself with the call as it wrote it — no claim and no
 * read in between. A simulated call's first step comes from a claim (the API wrote the call);
 * the later ones do not. The store is the real one of each backend, its claims counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../src/hookline.ts';
import { testConfig } from '../src/config.ts';
import type { Store } from '../src/store/contract.ts';
import { PG_SKIP, pgStore, startHookline, waitFor } from './helpers.ts';

/** The store, with the timers its claims hand out and the engine's reads of calls counted. */
function counted(store: Store): { store: Store; claimed: () => number; reads: () => number } {
  let claimed = 0;
  let reads = 0;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'claimTimers') {
        return async (...a: Parameters<Store['claimTimers']>) => {
          const got = await target.claimTimers(...a);
          claimed += got.length;
          return got;
        };
      }
      // the engine reads a call with no account (the API with the caller's)
      if (prop === 'getCall') return (...a: Parameters<Store['getCall']>) => (a[0] === null && reads++, target.getCall(...a));
      return (v as (...x: unknown[]) => unknown).bind(target);
    },
  });
  return { store: proxy, claimed: () => claimed, reads: () => reads };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`${backend}: a simulated call's steps after the first are played by the engine that wrote them, without a claim or a read`, { skip: backend === 'postgres' ? PG_SKIP : false }, async () => {
    const pg = backend === 'postgres' ? pgStore('hl_keep') : null;
    const c = counted(pg ? pg.store : await openStore(testConfig()));
    const s = await startHookline({}, { store: c.store });
    try {
      const created = await s.api('POST', '/v1/calls', { from: '+15550700001', to: '+15550700002', simulate: { ring_ms: 30, talk_ms: 30 } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      const ended = await waitFor(async () => {
        const r = await s.api('GET', `/v1/calls/${id}`);
        return r.body.status === 'ended' ? r.body : null;
      }, 10_000, 'the call to end');
      // accepted (the API's write), then the engine's steps, 30 ms apart
      assert.deepEqual(ended.events.map((e: { type: string }) => e.type), ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended']);
      assert.equal(c.claimed(), 1, 'one claimed timer: the first step only');
      // the claimed step's call: read apart on SQLite (in-process), with the claim on PostgreSQL
      assert.equal(c.reads(), backend === 'postgres' ? 0 : 1, 'reads by the engine');
    } finally {
      await s.stop();
      await pg?.cleanup();
    }
  });
}
