/**
 * A claim's deliveries as chains (dispatcher.ts chainsOf): one per target and call, in event
 * order, in the order their first delivery came; the same call for two targets is two chains.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainsOf } from '../src/delivery/dispatcher.ts';
import type { Claimed } from '../src/store/contract.ts';

const d = (order_key: string, call_id: string, event_seq: number): Claimed => ({ id: `${order_key}/${call_id}/${event_seq}`, order_key, call_id, event_seq } as Claimed);

test('chains: by target, then call, each in event order', () => {
  const claimed = [d('t1', 'c1', 2), d('t2', 'c1', 1), d('t1', 'c2', 1), d('t1', 'c1', 1), d('t2', 'c1', 3), d('t1', 'c1', 3)];
  assert.deepEqual(chainsOf(claimed).map((c) => c.map((x) => x.id)), [
    ['t1/c1/1', 't1/c1/2', 't1/c1/3'],
    ['t2/c1/1', 't2/c1/3'],
    ['t1/c2/1'],
  ]);
});
