/**
 * Call numbers (seed 004's integer call_id) are given from memory on SQLite and saved with the
 * calls: they go on counting after a restart, never repeat, and each account counts its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHookline, tempDir, type TestServer } from './helpers.ts';

test('call numbers count on across a restart and never repeat', async () => {
  const data = tempDir('hookline-numbers-');
  let s: TestServer | undefined;
  try {
    s = await startHookline({ dataDir: data.dir });
    const place = async (): Promise<number> => {
      const r = await s!.api('POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: { ring_ms: 5, talk_ms: 5 } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.number as number;
    };
    const first = await Promise.all([place(), place(), place()]);
    assert.deepEqual([...first].sort((a, b) => a - b), [1, 2, 3]);
    await s.stop();
    s = await startHookline({ dataDir: data.dir });
    assert.equal(await place(), 4);
    const other = await s.api('POST', '/v1/accounts', { name: 'other' });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const r = await s.api('POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: { ring_ms: 5, talk_ms: 5 } }, { key: other.body.api_key });
    assert.equal(r.body.number, 1, 'each account counts its own calls');
  } finally {
    await s?.stop();
    data.remove();
  }
});
