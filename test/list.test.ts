/**
 * Issue 2: GET /v1/calls. Cursor pagination returns every call exactly once, newest first; the
 * filters (kind, direction, outcome, status, from, to, channel_id, external_id) select exactly.
 * The calls live in a fresh tenant, so the expected sets are known in full.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHookline, type TestServer } from './helpers.ts';
import { createTenant, listAll, waitEnded, waitEvent, type CallView } from './call-helpers.ts';

let s: TestServer;
let key: string;
/** every call of the tenant, as the test made it */
const made: { id: string; kind: string; direction: string; outcome: string | null; status: string; from: string; to: string; channel_id?: string }[] = [];

const short = (outcome = 'answer') => ({ ring_ms: 10, outcome, talk_ms: 10 });
const forever = { ring_ms: 3_600_000 };

async function create(route: string, body: Record<string, unknown>) {
  const r = await s.api('POST', route, body, { key });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as CallView;
}

before(async () => {
  s = await startHookline();
  key = (await createTenant(s.url, 'lister')).api_key;
  const plan: [string, string, string, Record<string, unknown>, string | null][] = [
    // route, kind, direction, simulate, expected outcome (null: still ringing)
    ['/v1/calls', 'outbound', 'outbound', short(), 'completed'],
    ['/v1/calls', 'outbound', 'outbound', short(), 'completed'],
    ['/v1/calls', 'outbound', 'outbound', short(), 'completed'],
    ['/v1/calls', 'outbound', 'outbound', short('busy'), 'busy'],
    ['/v1/calls', 'outbound', 'outbound', short('busy'), 'busy'],
    ['/v1/calls', 'outbound', 'outbound', short('no-answer'), 'no-answer'],
    ['/v1/calls', 'outbound', 'outbound', short('failed'), 'failed'],
    ['/v1/calls', 'outbound', 'outbound', forever, null],
    ['/v1/click-to-call', 'click_to_call', 'outbound', { from: short(), to: short() }, 'completed'],
    ['/v1/click-to-call', 'click_to_call', 'outbound', { from: short(), to: short() }, 'completed'],
    ['/v1/click-to-call', 'click_to_call', 'outbound', { from: short('busy') }, 'busy'],
    ['/v1/click-to-call', 'click_to_call', 'outbound', { from: forever }, null],
    ['/v1/inbound-calls', 'inbound', 'inbound', short(), 'completed'],
    ['/v1/inbound-calls', 'inbound', 'inbound', short(), 'completed'],
    ['/v1/inbound-calls', 'inbound', 'inbound', short('no-answer'), 'no-answer'],
    ['/v1/inbound-calls', 'inbound', 'inbound', forever, null],
  ];
  let i = 0;
  for (const round of [0, 1]) {
    for (const [route, kind, direction, simulate, outcome] of plan) {
      i++;
      const from = `+1555200${String(i).padStart(4, '0')}`;
      const to = round === 0 ? '+15553000000' : '+15553000001';
      const body: Record<string, unknown> = { from, to, simulate };
      if (kind === 'inbound') body.channel_id = `chan-${round}`;
      const c = await create(route, body);
      made.push({ id: c.id, kind, direction, outcome, status: outcome === null ? 'ringing' : 'ended', from, to, channel_id: body.channel_id as string | undefined });
    }
  }
  const ing = await s.api('POST', '/v1/call-events', { event_id: 'l-e1', call_id: 'list-switch-1', type: 'call.ended', outcome: 'busy', from: '+15554000000', to: '+15554000001', direction: 'inbound' }, { key });
  assert.equal(ing.status, 201);
  made.push({ id: ing.body.id, kind: 'inbound', direction: 'inbound', outcome: 'busy', status: 'ended', from: '+15554000000', to: '+15554000001' });
  for (const m of made) {
    if (m.status === 'ended') await waitEnded(s.url, m.id, { key });
    else await waitEvent(s.url, m.id, (e) => e.type === 'leg.ringing', { key, what: 'ringing' });
  }
});
after(() => s.stop());

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
const newestFirst = (rows: { id: string }[]) => ids(rows).sort().reverse();

describe('cursor pagination', () => {
  for (const limit of [1, 2, 3, 7, 100]) {
    test(`limit ${limit}: every call once, newest first, full pages until the last`, async () => {
      const pages: CallView[][] = [];
      let cursor: string | null = null;
      do {
        const qs: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const r = await s.api('GET', `/v1/calls?${qs}`, undefined, { key });
        assert.equal(r.status, 200);
        assert.equal(r.body.object, 'list');
        pages.push(r.body.data);
        cursor = r.body.next_cursor;
        assert.ok(pages.length <= made.length + 1, 'the cursor loops');
      } while (cursor !== null);
      const all = pages.flat();
      assert.equal(all.length, made.length);
      assert.equal(new Set(ids(all)).size, made.length, 'a call came twice');
      assert.deepEqual(ids(all), newestFirst(made));
      for (const p of pages.slice(0, -1)) assert.equal(p.length, limit);
      assert.ok(pages.at(-1)!.length >= 1 && pages.at(-1)!.length <= limit);
      // Listed calls carry their timeline like GET /v1/calls/{id}.
      for (const c of all) assert.ok(Array.isArray(c.events) && c.events.length > 0 && Array.isArray(c.legs));
    });
  }

  test('without limit: pages of 20', async () => {
    assert.ok(made.length > 20);
    const r = await s.api('GET', '/v1/calls', undefined, { key });
    assert.equal(r.body.data.length, 20);
    assert.equal(typeof r.body.next_cursor, 'string');
  });

  test('calls made while paging do not disturb the walk', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let extra: CallView | undefined;
    do {
      const qs: string = `limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await s.api('GET', `/v1/calls?${qs}&kind=outbound`, undefined, { key });
      seen.push(...ids(r.body.data));
      cursor = r.body.next_cursor;
      extra ??= await create('/v1/calls', { from: '+15559990000', to: '+15559990001', simulate: short('busy') });
    } while (cursor !== null);
    assert.deepEqual(seen, newestFirst(made.filter((m) => m.kind === 'outbound')));
    made.push({ id: extra!.id, kind: 'outbound', direction: 'outbound', outcome: 'busy', status: 'ended', from: '+15559990000', to: '+15559990001' });
    await waitEnded(s.url, extra!.id, { key });
  });
});

describe('filters', () => {
  const cases: [string, (m: (typeof made)[number]) => boolean][] = [
    ['kind=outbound', (m) => m.kind === 'outbound'],
    ['kind=click_to_call', (m) => m.kind === 'click_to_call'],
    ['kind=inbound', (m) => m.kind === 'inbound'],
    ['direction=outbound', (m) => m.direction === 'outbound'],
    ['direction=inbound', (m) => m.direction === 'inbound'],
    ['outcome=completed', (m) => m.outcome === 'completed'],
    ['outcome=busy', (m) => m.outcome === 'busy'],
    ['outcome=no-answer', (m) => m.outcome === 'no-answer'],
    ['outcome=failed', (m) => m.outcome === 'failed'],
    ['outcome=cancelled', () => false],
    ['status=ended', (m) => m.status === 'ended'],
    ['status=ringing', (m) => m.status === 'ringing'],
    ['status=accepted', () => false],
    ['kind=outbound&outcome=busy', (m) => m.kind === 'outbound' && m.outcome === 'busy'],
    ['kind=click_to_call&status=ended', (m) => m.kind === 'click_to_call' && m.status === 'ended'],
    ['direction=inbound&outcome=no-answer', (m) => m.direction === 'inbound' && m.outcome === 'no-answer'],
    ['to=%2B15553000001', (m) => m.to === '+15553000001'],
    ['from=%2B15552000003', (m) => m.from === '+15552000003'],
    ['channel_id=chan-1', (m) => m.channel_id === 'chan-1'],
    ['external_id=list-switch-1', (m) => m.from === '+15554000000'],
    ['external_id=nope', () => false],
  ];
  for (const [qs, pick] of cases) {
    test(qs, async () => {
      // limit 3 makes every filter page too.
      const got = await listAll(s.url, qs, key, 3);
      const want = made.filter(pick);
      assert.deepEqual(ids(got), newestFirst(want));
      const params = new URLSearchParams(qs);
      for (const c of got) {
        for (const [k, v] of params) {
          if (k === 'external_id') assert.equal(c.external_id, v);
          else assert.equal((c as Record<string, unknown>)[k], v, `${c.id}.${k}`);
        }
      }
    });
  }

  test('a live call leaves status=ringing once it ends', async () => {
    const live = made.filter((m) => m.status === 'ringing');
    assert.ok(live.length > 0);
    for (const m of live) {
      assert.equal((await s.api('POST', `/v1/calls/${m.id}/hangup`, undefined, { key })).status, 200);
      m.status = 'ended';
      m.outcome = 'cancelled';
    }
    assert.deepEqual(await listAll(s.url, 'status=ringing', key), []);
    assert.deepEqual(ids(await listAll(s.url, 'outcome=cancelled', key, 2)), newestFirst(live));
  });
});
