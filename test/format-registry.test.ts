/**
 * Issue 11, Done-when 4: one module per wire format behind one `Format` interface, one registry;
 * fan-out, the dispatcher and the test route loop over it and name no format.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FORMAT_LIST, formatOf, formatOfKind } from '../src/formats/registry.ts';
import { FORMATS, RESOURCE_KINDS } from '../src/targets/model.ts';
import type { Resource } from '../src/store/contract.ts';

test('the registry lists every format once, each with events, a sample, a success rule, matching and a renderer', () => {
  assert.deepEqual(FORMAT_LIST.map((f) => f.name).sort(), [...FORMATS].sort());
  const kinds = new Set<string>(Object.values(RESOURCE_KINDS));
  for (const f of FORMAT_LIST) {
    assert.equal(formatOf(f.name), f);
    assert.ok(kinds.has(f.kind), `${f.name}: its targets are a stored kind`);
    assert.equal(formatOfKind(f.kind), f, `${f.name}: the only format of kind ${f.kind}`);
    assert.ok(f.events.length > 0 && f.events.includes(f.testEvent), `${f.name}: events and a test event`);
    assert.equal(typeof f.plan, 'function', `${f.name}: matches and renders`);
    assert.equal(typeof f.index, 'function');
    assert.equal(typeof f.sample, 'function', `${f.name}: a sample`);
    assert.equal(f.success(200), true, `${f.name}: 200 is a success`);
    assert.equal(f.success(500), false, `${f.name}: 500 is not`);
  }
  // the formats' own success rules (SPEC §5)
  assert.equal(formatOf('push-report').success(201), false);
  assert.equal(formatOf('push-report').success(202), true);
  assert.equal(formatOf('custom').success(201), false);
  assert.equal(formatOf('standard').success(204), true);
  assert.ok(formatOf('channels').sign, 'channels signs its own way');
  assert.throws(() => formatOf('smtp'));
});

test('every format’s sample reaches a target of its kind', () => {
  const docs: Record<string, Record<string, unknown>> = {
    standard: { url: 'https://x.example/', events: [], filters: {}, headers: {}, secrets: [] },
    callback: { name: 'p', url: 'https://x.example/', method: 'POST', headers: {}, body: null },
    'push-report': { url: 'https://x.example/', method: 'POST', headers: {}, body: null, body_format: 'json' },
    channels: { service: 'channels', event: 'voice.inbound', url: 'https://x.example/', signing_key: null, eventFilters: [] },
    'call-tracking': { url: 'https://x.example/', method: 'POST', property_sid: null, events: ['Call.Complete'] },
    custom: { url: 'https://x.example/', headers: {}, events: ['call_initiated'] },
  };
  for (const f of FORMAT_LIST) {
    const r: Resource = {
      id: 'unsaved', account_id: 'acct', kind: f.kind, doc: docs[f.name]!, enabled: true, disabled_reason: null,
      created_at: 0, updated_at: 0, last_success_at: null, failing_since: null,
    };
    const setup = f.sample(r, f.testEvent);
    assert.ok(['outbound', 'inbound', 'click_to_call'].includes(setup.kind), f.name);
  }
});

test('fan-out, the dispatcher and the test route name no format: they loop over the registry', () => {
  const names = FORMATS.map((n) => `'${n}'`);
  for (const file of ['src/targets/fanout.ts', 'src/delivery/dispatcher.ts', 'src/targets/test-delivery.ts', 'src/api/routes/resources.ts']) {
    const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    for (const n of names) assert.ok(!text.includes(n), `${file} names ${n}`);
    assert.ok(!/from '\.\.\/formats\/(standard|callback|push-report|channels|call-tracking|custom)\.ts'/.test(text), `${file} imports a format module`);
  }
});
