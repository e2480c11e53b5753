/**
 * Issue 10, chains: on PostgreSQL a claim leases a call's later deliveries with its first
 * (store-chain.test.ts); the dispatcher sends each only after the one before it succeeded, and
 * when one fails it hands the rest back: they wait for its retry and follow it in order. On
 * SQLite (heads only) the same must hold. A switch call's four events come in one batch, so all
 * are written at once, the first due and three queued behind it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PG_SKIP, pgStore, startHookline, startReceiver, waitFor, type TestServer } from './helpers.ts';
import { answer, createEndpoint, hook, type Hook } from './delivery-helpers.ts';

const PARTIES = { from: '+15558100001', to: '+15558100002', direction: 'outbound' };
const TYPES = ['leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'];

const backends = [
  { name: 'sqlite', skip: false as const, open: async () => ({ s: await startHookline({ retryScheduleMs: [200, 200, 200] }), close: async () => {} }) },
  {
    name: 'postgres', skip: PG_SKIP,
    open: async () => {
      const p = pgStore('hl_chain');
      await p.store.migrate();
      const s = await startHookline({ retryScheduleMs: [200, 200, 200] }, { store: p.store });
      return { s, close: () => p.cleanup() };
    },
  },
];

for (const b of backends) {
  test(`${b.name}: a call's events follow each other; one that fails holds back those after it until its retry succeeds`, { skip: b.skip, timeout: 60_000 }, async () => {
    const { s, close } = await b.open();
    const rx = await startReceiver();
    try {
      await run(s, rx);
    } finally {
      await s.stop();
      await rx.close();
      await close();
    }
  });
}

async function run(s: TestServer, rx: Awaited<ReturnType<typeof startReceiver>>): Promise<void> {
  // Call A's leg.ringing fails twice (500), then succeeds; call B's events all succeed.
  let failuresLeft = 2;
  const got: { hook: Hook; status: number; ext: string }[] = [];
  rx.respond((r, res) => {
    const h = hook(r);
    const body = JSON.parse(r.body);
    const fail = body.type === 'leg.ringing' && body.data.call.external_id.startsWith('chain-a') && failuresLeft > 0;
    if (fail) failuresLeft -= 1;
    got.push({ hook: h, status: fail ? 500 : 200, ext: body.data.call.external_id });
    answer(res, fail ? 500 : 200);
  });
  await createEndpoint(s.url, { url: `${rx.url}/chain` });
  const u = randomUUID();
  const [a, bb] = [`chain-a-${u}`, `chain-b-${u}`];
  const life = (call: string) => TYPES.map((type, i) => ({ event_id: `${call}-${i}`, call_id: call, type, ...(i === 0 ? PARTIES : {}), ...(type === 'call.ended' ? { outcome: 'completed' } : {}) }));
  const r = await s.api('POST', '/v1/call-events', { events: [...life(a), ...life(bb)] });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  const ofCall = (ext: string) => got.filter((g) => g.ext === ext);
  await waitFor(() => ofCall(a).filter((g) => g.status === 200).length === 4 && ofCall(bb).length === 4, 15_000, 'every event of both calls delivered');
  const seqs = (ext: string) => ofCall(ext).map((g) => `${g.hook.seq}:${g.status}`);
  // A: 1 ok, 2 fails twice and succeeds on its third attempt, then 3 and 4 — nothing of 3 or 4 before.
  assert.deepEqual(seqs(a), ['1:200', '2:500', '2:500', '2:200', '3:200', '4:200']);
  assert.deepEqual(seqs(bb), ['1:200', '2:200', '3:200', '4:200'], 'call B is not held back by call A');
  const ids = got.filter((g) => g.status === 200).map((g) => g.hook.id);
  assert.equal(new Set(ids).size, ids.length, 'each event succeeded once');
}
