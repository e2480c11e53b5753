/**
 * Ids (src/ids.ts): well formed, in creation order within and across milliseconds, and with a
 * random part of their own per millisecond — also across refills of the pool the random bytes
 * are drawn from (400 ids a refill).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idFloor, newId, newIdShape } from '../src/ids.ts';

test('ids sort in the order they were made, within one millisecond and across many', () => {
  const start = Date.now() + 1_000_000;
  const ids: string[] = [];
  for (let ms = 0; ms < 50; ms++) for (let i = 0; i < 30; i++) ids.push(newId('dlv', start + ms));
  const shape = newIdShape('dlv');
  for (const id of ids) assert.match(id, shape);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(idFloor('dlv', start) <= ids[0]! && idFloor('dlv', start + 1) > ids[29]!);
});

test('each millisecond draws random bits of its own, across refills of the random pool', () => {
  const start = Date.now() + 2_000_000;
  const randomParts = new Set<string>();
  const n = 2_000; // five refills of the pool
  for (let ms = 0; ms < n; ms++) randomParts.add(newId('call', start + ms).slice('call_'.length + 10));
  assert.equal(randomParts.size, n);
});
