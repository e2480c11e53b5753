/**
 * Split mode hands each committed delivery to the delivery thread as queue keys plus bytes
 * (packed-offers.ts), decoded at its first claim: what is claimed must be what was written,
 * byte for byte, through a real worker-thread transfer, and its body (kept in bytes) signed as
 * its text is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { NewDelivery } from '../src/store/contract.ts';
import { freshDelivery, offerKeys, packOffers, type PackedOffers } from '../src/store/sqlite/packed-offers.ts';
import { Scheduler } from '../src/store/sqlite/scheduler.ts';
import { channelsSignature, generateSecret, standardSignature } from '../src/delivery/signing.ts';

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
  const got = await throughPort(sent);
  // transferred, not copied: the sender's arrays are detached
  assert.ok(sent.packed.blobs.every((b) => b.byteLength === 0));
  const sched = new Scheduler();
  for (let i = 0; i < got.blobs.length; i++) sched.add(offerKeys(got, i));
  const claimed = sched.claim('me', 1_800_000_000_000, 1_800_000_060_000, 10, { free: new Map(), fallback: 10 }, false);
  assert.equal(claimed.length, 4);
  for (const e of claimed) {
    const i = written.findIndex((w) => w.id === e.id);
    const d = freshDelivery(e, got.blobs[i]!);
    const w = written[i]!;
    const { body, ...request } = d.request;
    assert.deepEqual(
      { ...d, request, next_attempt_at: w.next_attempt_at },
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
