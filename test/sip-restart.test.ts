/**
 * Issue 13: Hookline is SIGKILLed with a SIP call up, or ringing. On start the next run ends every
 * SIP call the previous one left live (README "Restart"): a confirmed dialog gets Hookline's BYE
 * (SIPp receives it after the restart) and the call ends with call.error + call.ended completed; a
 * call still ringing ends failed, and the 200 the far end sends later is ACKed and hung up. Each
 * call gets exactly one call.ended, and its events reach a native endpoint in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, startReceiver, tempDir, waitFor, type Receiver } from './helpers.ts';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { assertEndedTimeline, timeline, waitEnded, waitEvent, type CallView } from './call-helpers.ts';
import { hooks } from './delivery-helpers.ts';
import { freePort, SIPP_SKIP, startSipp } from './sip-harness.ts';

const KEY = 'hk_sip_restart_key_0123456789abcdef';

/**
 * The types the endpoint received for the call once it has all `n` events, checking their order.
 * A delivery may come again after the kill (sent, its result not committed yet: README "Order
 * per call"), even after the next event's, but only as a repeat under its first `webhook-id`;
 * the first receipts of the call's events are in seq order, one id per event.
 */
async function deliveredInOrder(rx: Receiver, callId: string, n: number): Promise<string[]> {
  const mine = () => hooks(rx.requests).filter((h) => h.call_id === callId);
  await waitFor(() => new Set(mine().map((h) => h.seq)).size >= n, 20_000, `${n} events of ${callId} delivered`);
  const got = mine();
  const idOf = new Map<number, string>();
  const first: number[] = [];
  for (const h of got) {
    const id = idOf.get(h.seq);
    if (id === undefined) {
      idOf.set(h.seq, h.id);
      first.push(h.seq);
    } else assert.equal(h.id, id, `event ${h.seq} came again under another webhook-id`);
  }
  const sent = got.map((h) => h.seq).join(',');
  for (let i = 1; i < first.length; i++) assert.ok(first[i]! > first[i - 1]!, `first receipts out of order: ${first.join(',')} (all: ${sent})`);
  return [...new Map(got.map((h) => [h.seq, h.type])).values()];
}

async function killedMidCall(
  scenario: string, killAfter: string, check: (callId: string, h: Child, rx: Receiver) => Promise<unknown>, signal: NodeJS.Signals = 'SIGKILL',
  restartElsewhere = false,
): Promise<void> {
  const sipp = await startSipp(scenario);
  const rx = await startReceiver();
  const data = tempDir();
  let h: Child | undefined;
  try {
    const sipPort = await freePort();
    const args = ['--data-dir', data.dir, '--api-key', KEY, '--allow-private-targets', 'true', '--sip-trunk', `sip:127.0.0.1:${sipp.port}`, '--sip-listen', `127.0.0.1:${sipPort}`];
    h = await spawnHookline(args, 'sip-1');
    const ep = await request(h.url, 'POST', '/v1/endpoints', { url: `${rx.url}/hook` }, { key: KEY });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    // No max_duration_s and no short ring timeout: only the restart can end this call.
    const r = await request(h.url, 'POST', '/v1/calls', { from: '+15550200001', to: '+15550200002' }, { key: KEY });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id as string;
    await waitEvent(h.url, id, (e) => e.type === killAfter, { key: KEY });
    await stopChild(h, signal);
    // A graceful stop ends the call itself: the far end has its BYE or CANCEL before any restart.
    if (signal === 'SIGTERM') assert.equal(await sipp.exited, 0, `sipp's scenario did not complete before the restart:\n${sipp.output()}`);
    // Restarted on another SIP address: on SQLite no other process can own the call, so it is ended all the same.
    if (restartElsewhere) args[args.indexOf('--sip-listen') + 1] = `127.0.0.1:${await freePort()}`;
    h = await spawnHookline(args, 'sip-2');
    await check(id, h, rx);
    const code = await sipp.exited;
    assert.equal(code, 0, `sipp's scenario did not complete (${code}):\n${sipp.output()}`);
  } finally {
    sipp.kill();
    await stopChild(h);
    await rx.close();
    data.remove();
  }
}

const ANSWERED = ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.error', 'call.ended'];
const RINGING = ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'call.error', 'call.ended'];

/** The call as ended by the stop or the restart: its timeline, outcome and error, and its events delivered in order. */
async function assertEndedAs(h: Child, rx: Receiver, id: string, events: string[], outcome: string, error: RegExp): Promise<CallView> {
  // Ended before the API listens: the first read after the restart sees it ended.
  const call = await waitEnded(h.url, id, { key: KEY, timeoutMs: 1_000 });
  assertEndedTimeline(call);
  assert.deepEqual(timeline(call), events);
  assert.equal(call.outcome, outcome);
  assert.match(call.events.find((e) => e.type === 'call.error')?.message ?? '', error);
  assert.deepEqual(await deliveredInOrder(rx, id, events.length), events.map((t) => t.split('/')[0]));
  return call;
}

test('SIP: SIGKILL mid-call; the restarted run BYEs the stored dialog and ends the call with call.error + call.ended', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await killedMidCall('uas-answer-wait.xml', 'leg.answered', (id, h, rx) => assertEndedAs(h, rx, id, ANSWERED, 'completed', /restarted during the call/));
});

test('SIP: SIGKILL while ringing; the call ends failed, and the late 200 is ACKed and hung up by the restarted run', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await killedMidCall('uas-ring-answer-late.xml', 'leg.ringing', (id, h, rx) => assertEndedAs(h, rx, id, RINGING, 'failed', /restarted before the call was connected/));
});

test('SIP: SIGTERM mid-call; the stopping run BYEs the dialog and ends the call with call.error + call.ended', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await killedMidCall('uas-answer-wait.xml', 'leg.answered', (id, h, rx) => assertEndedAs(h, rx, id, ANSWERED, 'completed', /stopped during the call/), 'SIGTERM');
});

test('SIP: SIGTERM while ringing; the stopping run CANCELs the INVITE, the call ends failed with the 487 shown', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await killedMidCall('uas-ring-cancel.xml', 'leg.ringing', async (id, h, rx) => {
    const call = await assertEndedAs(h, rx, id, RINGING, 'failed', /stopped before the call was connected: the INVITE of leg main was cancelled/);
    assert.equal((call.legs[0] as unknown as { sip_status: number }).sip_status, 487, 'the leg shows the INVITE\'s 487');
  }, 'SIGTERM');
});

test('SIP: SIGKILL mid-call, restart on another --sip-listen (SQLite): the call is still ended and its dialog BYEd', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await killedMidCall('uas-answer-wait.xml', 'leg.answered', (id, h, rx) => assertEndedAs(h, rx, id, ANSWERED, 'completed', /restarted during the call/), 'SIGKILL', true);
});

test('SIP: a live SIP call read by a process that runs no SIP driver: a hangup answers 409 driver_not_running, not 500', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  const sipp = await startSipp('uas-answer-wait.xml');
  const data = tempDir();
  let h: Child | undefined;
  try {
    const base = ['--data-dir', data.dir, '--api-key', KEY, '--allow-private-targets', 'true'];
    h = await spawnHookline([...base, '--sip-trunk', `sip:127.0.0.1:${sipp.port}`, '--sip-listen', `127.0.0.1:${await freePort()}`], 'sip-1');
    const r = await request(h.url, 'POST', '/v1/calls', { from: '+15550200011', to: '+15550200012' }, { key: KEY });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await waitEvent(h.url, r.body.id as string, (e) => e.type === 'leg.answered', { key: KEY });
    await stopChild(h, 'SIGKILL');
    h = await spawnHookline(base, 'no-sip'); // restarted without --sip-trunk: the call stays as it was
    const hung = await request(h.url, 'POST', `/v1/calls/${r.body.id as string}/hangup`, undefined, { key: KEY });
    assert.equal(hung.status, 409, JSON.stringify(hung.body));
    assert.equal(hung.body.code, 'driver_not_running');
    assert.match(hung.body.detail, /sip driver, which this process does not run/);
  } finally {
    sipp.kill();
    await stopChild(h);
    data.remove();
  }
});
