/**
 * Issue 10, PostgreSQL's fixed rate: a chain's results (a call's later events, leased with its
 * first, delivery-chain.test.ts) do not each make a dispatcher round. While the chain goes on
 * nothing waits on a result's record, so the results ride together with the round the chain's
 * last result makes. One round per result was ~1 transaction per delivery at 500 events/s
 * (13,074 in 25 s; 10,022 after).
 *
 * The receiver answers each request after 30 ms, far longer than a round takes here: one round
 * per result would record the four results in four rounds.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Store } from '../src/store/contract.ts';
import { PG_SKIP, pgStore, startHookline, startReceiver, waitFor } from './helpers.ts';
import { answer, createEndpoint } from './delivery-helpers.ts';

const PARTIES = { from: '+15558200001', to: '+15558200002', direction: 'outbound' };
const TYPES = ['leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'];

/** the real store, with the number of results each claimDeliveries round carried written down */
function counting(store: Store, settled: number[]): Store {
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (prop === 'claimDeliveries') {
        return (...args: Parameters<Store['claimDeliveries']>) => {
          const settle = args[5] ?? [];
          if (settle.length > 0) settled.push(settle.length);
          return target.claimDeliveries(...args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('postgres: the results of a chain are recorded together, not a round each', { skip: PG_SKIP, timeout: 60_000 }, async () => {
  const p = pgStore('hl_rounds');
  await p.store.migrate();
  const settled: number[] = [];
  const s = await startHookline({}, { store: counting(p.store, settled) });
  const rx = await startReceiver();
  try {
    rx.respond((_r, res) => void setTimeout(() => answer(res, 200), 30));
    await createEndpoint(s.url, { url: `${rx.url}/rounds` });
    const call = `rounds-${randomUUID()}`;
    const events = TYPES.map((type, i) => ({
      event_id: `${call}-${i}`, call_id: call, type, ...(i === 0 ? PARTIES : {}), ...(type === 'call.ended' ? { outcome: 'completed' } : {}),
    }));
    const r = await s.api('POST', '/v1/call-events', { events });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(() => settled.reduce((a, b) => a + b, 0) === 4, 15_000, 'the four results recorded');
    assert.equal(rx.requests.length, 4);
    // one round for the chain's four (a second at most, if a round ran meanwhile for other work)
    assert.ok(settled.length <= 2, `results recorded in ${settled.length} rounds: ${settled.join(', ')}`);
  } finally {
    await s.stop();
    await rx.close();
    await p.cleanup();
  }
});
