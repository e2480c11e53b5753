/**
 * Issue 13: Hookline is SIGKILLed with a SIP call up. The dialog was stored when it was confirmed;
 * the next run plays the call's max_duration_s timer, sends the BYE from the stored dialog (SIPp
 * receives it) and ends the call with exactly one call.ended.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, tempDir } from './helpers.ts';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { assertEndedTimeline, timeline, waitEnded, waitEvent } from './call-helpers.ts';
import { freePort, SIPP_SKIP, startSipp } from './sip-harness.ts';

const KEY = 'hk_sip_restart_key_0123456789abcdef';

test('SIP: SIGKILL mid-call; after the restart the stored dialog gets its BYE and the call ends once', { skip: SIPP_SKIP, timeout: 60_000 }, async () => {
  const sipp = await startSipp('uas-answer-wait.xml');
  const data = tempDir();
  let h: Child | undefined;
  try {
    const sipPort = await freePort();
    const args = ['--data-dir', data.dir, '--api-key', KEY, '--sip-trunk', `sip:127.0.0.1:${sipp.port}`, '--sip-listen', `127.0.0.1:${sipPort}`];
    h = await spawnHookline(args, 'sip-1');
    const r = await request(h.url, 'POST', '/v1/calls', { from: '+15550200001', to: '+15550200002', max_duration_s: 3 }, { key: KEY });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    await waitEvent(h.url, id, (e) => e.type === 'leg.answered', { key: KEY });
    await stopChild(h, 'SIGKILL');
    h = await spawnHookline(args, 'sip-2');
    const call = await waitEnded(h.url, id, { key: KEY, timeoutMs: 20_000 });
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.ended']);
    assert.equal(call.outcome, 'completed');
    const code = await sipp.exited;
    assert.equal(code, 0, `sipp did not get its BYE (${code}):\n${sipp.output()}`);
  } finally {
    sipp.kill();
    await stopChild(h);
    data.remove();
  }
});
