/**
 * Split mode hands each committed delivery to the delivery thread as queue keys plus bytes
 * (packed-offers.ts), decoded at its first claim: what is claimed must be what was written,
 * byte for byte, through a real worker-thread transfer, and its body (kept in bytes) signed as
 * its text is. The offers kept for their claim are bounded in count and in bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { Claimed, NewDelivery } from '../src/store/contract.ts';
import { freshDelivery, KeptOffers, offerCount, offerKeys, packOffers, type PackedOffers } from '../src/store/sqlite/packed-offers.ts';
import { Scheduler } from '../src/store/sqlite/scheduler.ts';
import { channelsSignature, generateSecret, standardSignature } from '../src/delivery/signing.ts';

// A claimed kept offer reads its fields through getters (decoded at first use): its fields as a plain object.
const FIELDS = ['id', 'account_id', 'call_id', 'event_seq', 'event_type', 'event_name', 'target_format', 'target_id', 'order_key', 'request', 'created_at',
  'next_attempt_at', 'status', 'attempts', 'locked_by', 'locked_until', 'updated_at', 'last_status_code', 'last_error'] as const;
const plain = (d: Claimed): Record<string, unknown> => Object.fromEntries(FIELDS.map((k) => [k, d[k]]));

const SECRET = generateSecret();

const delivery = (n: number, body: string | null, headers: Record<string, string> = { 'content-type': 'application/json' }): NewDelivery => ({
  id: `dlv_${n}`, account_id: 'acc_1', call_id: `call_${n}`, event_seq: n, event_type: 'call.ended', event_name: 'call_end',
  target_format: 'standard', target_id: 'ep_1', order_key: 'ep_1', created_at: 1_700_000_000_000 + n, next_attempt_at: 1_700_000_000_500 + n,
  request: { method: body === null ? 'GET' : 'POST', url: `http://127.0.0.1:9/hook?n=${n}&x=%0A`, headers, body },
});

async function throughPort(p: { packed: PackedOffers; transfer: ArrayBuffer[] }): Promise<PackedOffers> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<PackedOffers>((resolve) => port2.once('message', resolve));
  port1.postMessage(p.packed, p.transfer);
  const out = await got;
  port1.close();
  port2.close();
  return out;
}

test('offers cross a thread as keys and bytes and come back as the deliveries written', async () => {
  const written = [
    delivery(1, '{"a":1}'),
    // a newline inside the body, and characters outside Latin-1 and the BMP
    delivery(2, '{"text":"line one\\nline two"}\nraw newline, é, 漢字, 📞', { 'x-note': 'ü\nnot a header split', 'content-type': 'text/plain' }),
    delivery(3, null, {}),
    delivery(4, ''),
  ];
  const sent = packOffers(written);
  // one head per distinct request: here every URL differs
  assert.equal(sent.packed.requests.length, 4);
  const got = await throughPort(sent);
  // transferred, not copied: the sender's array is detached
  assert.equal(sent.packed.bytes.byteLength, 0);
  const sched = new Scheduler();
  const kept = new KeptOffers(100, 1 << 20);
  assert.equal(offerCount(got), 4);
  for (let i = 0; i < offerCount(got); i++) sched.add(offerKeys(got, i));
  kept.keep(got);
  const claimed = sched.claim('me', 1_800_000_000_000, 1_800_000_060_000, 10, { free: new Map(), fallback: 10 }, false);
  assert.equal(claimed.length, 4);
  for (const e of claimed) {
    const i = written.findIndex((w) => w.id === e.id);
    const d = freshDelivery(e, kept.take(e.id)!);
    const w = written[i]!;
    const { body, ...request } = d.request;
    assert.deepEqual(
      { ...plain(d), request, next_attempt_at: w.next_attempt_at },
      {
        ...w, request: { method: w.request.method, url: w.request.url, headers: w.request.headers },
        // in the state the queue holds it in: claimed by 'me' until the lease's end
        status: 'delivering', attempts: 0, locked_by: 'me', locked_until: 1_800_000_060_000, updated_at: w.created_at, last_status_code: null, last_error: null,
      },
    );
    // the body stays in bytes: the UTF-8 of the text written, signed the same as the text
    if (w.request.body === null) {
      assert.equal(body, null);
      continue;
    }
    assert.ok(body instanceof Uint8Array);
    assert.deepEqual(Buffer.from(body), Buffer.from(w.request.body, 'utf8'));
    assert.equal(standardSignature([SECRET], d.id, 1_700_000_000, body), standardSignature([SECRET], d.id, 1_700_000_000, w.request.body));
    assert.equal(channelsSignature('key', 1_700_000_000, d.request.url, body), channelsSignature('key', 1_700_000_000, d.request.url, w.request.body));
  }
});

test('a target’s deliveries share one request head; kept offers are bounded in count and in bytes, a message held until its last is taken', async () => {
  const headers = Object.freeze({ 'content-type': 'application/json', authorization: 'Bearer x' });
  const same = (n: number): NewDelivery => ({ ...delivery(n, `{"n":${n}}`), request: { method: 'POST', url: 'http://127.0.0.1:9/hook', headers, body: `{"n":${n}}` } });
  const got = await throughPort(packOffers([same(1), same(2), same(3)]));
  assert.equal(got.requests.length, 1);
  // room for two by count
  const kept = new KeptOffers(2, 1 << 20);
  kept.keep(got);
  assert.equal(kept.size, 2);
  assert.equal(kept.bytes, got.bytes.byteLength, 'the message counted once');
  const sched = new Scheduler();
  for (let i = 0; i < 3; i++) sched.add(offerKeys(got, i));
  const [a, b] = sched.claim('me', 1_800_000_000_000, 1_800_000_060_000, 10, { free: new Map(), fallback: 10 }, false);
  const da = freshDelivery(a!, kept.take(a!.id)!);
  assert.equal(kept.bytes, got.bytes.byteLength, 'held while one of its offers is kept');
  const db = freshDelivery(b!, kept.take(b!.id)!);
  assert.equal(kept.bytes, 0, 'let go with its last');
  assert.equal(kept.take('dlv_3'), undefined, 'past the count bound: not kept, read from the rows');
  assert.equal(da.request.headers, db.request.headers, 'one headers object for the target');
  assert.deepEqual(da.request.headers, headers);
  assert.deepEqual([Buffer.from(da.request.body as Uint8Array).toString(), Buffer.from(db.request.body as Uint8Array).toString()], ['{"n":1}', '{"n":2}']);

  // by bytes: a second message is not kept once the first fills the budget
  const small = new KeptOffers(100, 1);
  const first = await throughPort(packOffers([same(4)]));
  const second = await throughPort(packOffers([same(5)]));
  small.keep(first);
  small.keep(second);
  assert.equal(small.size, 1);
  assert.ok(small.take('dlv_4'));
  assert.equal(small.take('dlv_5'), undefined);
});

test('labels are shared per message, and a delivery whose target and event name match another’s but whose type does not keeps its own', async () => {
  const base = delivery(1, '{}');
  const ds: NewDelivery[] = [
    base,
    { ...delivery(2, '{}'), event_type: base.event_type, event_name: base.event_name },
    { ...delivery(3, '{}'), event_type: 'call.started', event_name: base.event_name },
    { ...delivery(4, '{}'), event_type: base.event_type, event_name: base.event_name, account_id: 'acc_2' },
  ];
  const got = await throughPort(packOffers(ds));
  assert.equal(got.labels.length, 3, 'the first two share their labels');
  const sched = new Scheduler();
  const kept = new KeptOffers(100, 1 << 20);
  for (let i = 0; i < offerCount(got); i++) sched.add(offerKeys(got, i));
  kept.keep(got);
  const claimed = sched.claim('me', 1_800_000_000_000, 1_800_000_060_000, 10, { free: new Map(), fallback: 10 }, false);
  const byId = new Map(claimed.map((e) => [e.id, freshDelivery(e, kept.take(e.id)!)]));
  for (const w of ds) {
    const d = byId.get(w.id)!;
    assert.deepEqual([d.account_id, d.event_type, d.event_name, d.target_format, d.target_id, d.created_at], [w.account_id, w.event_type, w.event_name, w.target_format, w.target_id, w.created_at]);
  }
});
