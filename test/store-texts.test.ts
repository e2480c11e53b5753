/**
 * Long text columns keep every character through the store: quotes, backslashes, braces and
 * commas (an array literal's syntax), newlines, NUL-free control characters, non-BMP
 * characters. PostgreSQL takes them as one JSON text per column (sql.ts textsFromJson), not as
 * text[] literals: the call document, an event's data, a rendered request, an attempt's
 * request, response headers and excerpt, an idempotent answer. A lone surrogate in the call
 * (JSON.parse lets one through) is kept; a raw one in a text column becomes U+FFFD, not an error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../src/store/contract.ts';
import { BACKENDS, claim, epoch, makeCall, makeDelivery, makeEvent, newAccount, openForSuite, result } from './store-harness.ts';

const TRICKY = 'a "quoted" \\back\\slash {brace,comma} NULL null \'single\'\nline\ttab \u0001 é 😀 \\"both\\"';

for (const backend of BACKENDS) {
  describe(`long texts on ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;
    openForSuite(backend, (h) => (store = h.store));

    test('every character of the call, its event, its delivery and its attempt comes back', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const call = makeCall(acct, { last_seq: 1, metadata: { note: TRICKY, lone: 'x\ud800y' }, source: TRICKY });
      const d = makeDelivery(call, { seq: 1 }, T);
      d.request = { ...d.request, headers: { ...d.request.headers, 'x-note': TRICKY }, body: JSON.stringify({ note: TRICKY }) };
      const idem = { route: 'POST /v1/calls', key: `k-${call.id}`, request_hash: 'h', status: 201, body: JSON.stringify({ id: call.id, note: TRICKY }) };
      const written = await store.writeCall({
        call, expected_version: null, events: [makeEvent(call, 1, { data: { message: TRICKY } })], timer_due_at: null, deliveries: [d], idempotency: idem,
      });
      assert.equal(written, 'written');
      const back = await store.getCall(acct, call.id);
      assert.equal(back?.metadata?.note, TRICKY);
      assert.equal(back?.metadata?.lone, 'x\ud800y');
      assert.equal(back?.source, TRICKY);
      assert.deepEqual((await store.listEvents([call.id]))[0]?.data, { message: TRICKY });
      assert.equal((await store.getIdempotent(acct, idem.route, idem.key))?.body, idem.body);
      const [c] = (await claim(store, 'o_texts', T + 1)).filter((x) => x.id === d.id);
      assert.ok(c, 'the delivery is claimed');
      assert.equal(c.request.body, d.request.body);
      assert.equal(c.request.headers['x-note'], TRICKY);
      const r = result('o_texts', c, 'succeeded', T + 2);
      r.attempt.response_headers = { 'x-answer': TRICKY };
      r.attempt.response_excerpt = `${TRICKY}\ud800`;
      await store.recordAttempts([r], T + 2);
      const [a] = await store.listAttempts([d.id]);
      assert.equal(a?.response_excerpt, `${TRICKY}\ufffd`);
      assert.deepEqual(a?.response_headers, { 'x-answer': TRICKY });
      assert.equal(a?.request.url, d.request.url);
    });
  });
}
