/**
 * Issue 13: calls placed over SIP (calls/drivers/sip/) against SIPp as the far end, one scenario
 * of test/sip/ each. Every call's events and outcome are checked, and their delivery to a native
 * endpoint, in order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { assertEndedTimeline, getCall, timeline, waitEnded, waitEvent } from './call-helpers.ts';
import { freePort, SIPP_SKIP, startSipp, type Sipp } from './sip-harness.ts';

interface Run {
  s: TestServer;
  rx: Receiver;
  sipp: Sipp;
}

interface Opts {
  transport?: 'udp' | 'tcp';
  user?: string;
  password?: string;
  extra?: string[];
  /** calls SIPp takes before it exits (1) */
  calls?: number;
  /** false: the scenario does not end by itself (it is killed) */
  exits?: boolean;
}

async function withSipp(scenario: string, opts: Opts, fn: (r: Run) => Promise<void>): Promise<void> {
  const sipp = await startSipp(scenario, { transport: opts.transport, extra: opts.extra, calls: opts.calls });
  const rx = await startReceiver();
  let s: TestServer | undefined;
  try {
    const listen = { host: '127.0.0.1', port: await freePort() };
    const trunk = `sip:127.0.0.1:${sipp.port}${opts.transport === 'tcp' ? ';transport=tcp' : ''}`;
    s = await startHookline({ sip: { trunk, listen, user: opts.user, password: opts.password, fromDomain: 'hookline.test' } });
    const ep = await s.api('POST', '/v1/endpoints', { url: `${rx.url}/hook` });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    await fn({ s, rx, sipp });
    if (opts.exits === false) return;
    const code = await sipp.exited;
    assert.equal(code, 0, `sipp failed (${code}):\n${sipp.output()}`);
  } finally {
    sipp.kill();
    await s?.stop();
    await rx.close();
  }
}

/** The types the endpoint received for the call, in order, once it has `n` of them. */
async function delivered(rx: Receiver, callId: string, n: number): Promise<string[]> {
  const mine = () => rx.requests.map((r) => JSON.parse(r.body) as { type: string; data: { call: { id: string } } }).filter((b) => b.data.call.id === callId);
  await waitFor(() => mine().length >= n, 10_000, `${n} deliveries of ${callId}`);
  return mine().map((b) => b.type);
}

async function place(s: TestServer, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await s.api('POST', '/v1/calls', { from: '+15550100001', to: '+15550100002', ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.driver, 'sip');
  return r.body.id as string;
}

const ANSWERED = ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.ended'];
const plain = (t: string[]) => t.map((x) => x.split('/')[0]!);

test('SIP: the far end answers, then hangs up: completed, its BYE answered', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-answer-bye.xml', {}, async ({ s, rx }) => {
    const id = await place(s);
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ANSWERED);
    assert.equal(call.outcome, 'completed');
    const leg = call.legs[0]! as unknown as Record<string, unknown>;
    assert.equal(leg.sip_status, 200);
    assert.equal(leg.sip_reason, 'OK');
    assert.match(String(leg.sip_call_id), /@127\.0\.0\.1$/);
    assert.deepEqual(await delivered(rx, id, 5), plain(ANSWERED));
  });
});

test('SIP: answered, then hung up by the API: Hookline sends the BYE', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-answer-wait.xml', {}, async ({ s, rx }) => {
    const id = await place(s);
    await waitEvent(s.url, id, (e) => e.type === 'leg.answered');
    const h = await s.api('POST', `/v1/calls/${id}/hangup`);
    assert.equal(h.status, 200, JSON.stringify(h.body));
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ANSWERED);
    assert.equal(call.outcome, 'completed');
    assert.deepEqual(await delivered(rx, id, 5), plain(ANSWERED));
  });
});

test('SIP: answered, max_duration_s reached: Hookline sends the BYE', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-answer-wait.xml', {}, async ({ s }) => {
    const id = await place(s, { max_duration_s: 1 });
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ANSWERED);
    assert.equal(call.outcome, 'completed');
  });
});

test('SIP: 180 and no answer: Hookline CANCELs after ring_timeout_s, no-answer', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-ring-cancel.xml', {}, async ({ s, rx }) => {
    const id = await place(s, { ring_timeout_s: 1 });
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'leg.ringing/main', 'call.ended']);
    assert.equal(call.outcome, 'no-answer');
    assert.deepEqual(await delivered(rx, id, 4), ['call.accepted', 'leg.initiated', 'leg.ringing', 'call.ended']);
    // the leg's last SIP status is the final answer to the INVITE cancelled, not its 180
    await waitFor(async () => ((await getCall(s.url, id)).legs[0] as unknown as { sip_status: number }).sip_status === 487, 5_000, 'the leg to show 487');
  });
});

test('SIP: 486 Busy Here is busy', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-486.xml', {}, async ({ s, rx }) => {
    const id = await place(s);
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'call.ended']);
    assert.equal(call.outcome, 'busy');
    const leg = call.legs[0]! as unknown as Record<string, unknown>;
    assert.equal(leg.sip_status, 486);
    assert.deepEqual(await delivered(rx, id, 3), ['call.accepted', 'leg.initiated', 'call.ended']);
  });
});

test('SIP: 503 is failed, with a call.error naming the status', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-503.xml', {}, async ({ s, rx }) => {
    const id = await place(s);
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'call.error', 'call.ended']);
    assert.equal(call.outcome, 'failed');
    assert.match(String(call.events[2]!.message), /SIP 503 Service Unavailable/);
    assert.equal((await getCall(s.url, id)).error_message, call.error_message);
    assert.deepEqual(await delivered(rx, id, 4), ['call.accepted', 'leg.initiated', 'call.error', 'call.ended']);
  });
});

for (const code of [401, 407]) {
  test(`SIP: a ${code} challenge is answered with digest credentials, then the call goes on`, { skip: SIPP_SKIP }, async () => {
    const log = path.join(tmpdir(), `hookline-sipp-${code}-${process.pid}.log`);
    await withSipp(`uas-${code}.xml`, { user: 'alice', password: 's3cret', extra: ['-trace_logs', '-log_file', log] }, async ({ s }) => {
      const id = await place(s);
      await waitEvent(s.url, id, (e) => e.type === 'leg.answered');
      assert.equal((await s.api('POST', `/v1/calls/${id}/hangup`)).status, 200);
      const call = await waitEnded(s.url, id);
      assertEndedTimeline(call);
      assert.deepEqual(timeline(call), ANSWERED);
      assert.equal(call.outcome, 'completed');
    });
    if (code === 407) {
      // SIPp verifies only an Authorization header: the Proxy-Authorization it logged is checked here.
      const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes('PROXY-AUTHORIZATION'));
      rmSync(log, { force: true });
      assert.ok(line, 'SIPp logged no Proxy-Authorization');
      const field = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(line)?.[1] ?? '';
      assert.equal(field('username'), 'alice');
      const md5 = (x: string) => createHash('md5').update(x).digest('hex');
      const expected = md5(`${md5('alice:hookline.test:s3cret')}:${field('nonce')}:${md5(`INVITE:${field('uri')}`)}`);
      assert.equal(field('response'), expected);
    }
  });
}

test('SIP over TCP: answer then BYE', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-answer-bye.xml', { transport: 'tcp' }, async ({ s, rx }) => {
    const id = await place(s);
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ANSWERED);
    assert.equal(call.outcome, 'completed');
    assert.deepEqual(await delivered(rx, id, 5), plain(ANSWERED));
  });
});

test('SIP: no response at all: failed after timer B (32 s), with a call.error', { skip: SIPP_SKIP, timeout: 90_000 }, async () => {
  await withSipp('uas-silent.xml', { exits: false }, async ({ s, rx }) => {
    const id = await place(s, { ring_timeout_s: 60 });
    const call = await waitEnded(s.url, id, { timeoutMs: 60_000 });
    assertEndedTimeline(call);
    assert.deepEqual(timeline(call), ['call.accepted', 'leg.initiated/main', 'call.error', 'call.ended']);
    assert.equal(call.outcome, 'failed');
    assert.match(String(call.events[2]!.message), /timer B/);
    assert.deepEqual(await delivered(rx, id, 4), ['call.accepted', 'leg.initiated', 'call.error', 'call.ended']);
  });
});

test('SIP click-to-call (3pcc): agent offer to the customer, the answer in the agent\'s ACK; the customer\'s BYE ends the agent\'s leg', { skip: SIPP_SKIP }, async () => {
  await withSipp('uas-3pcc.xml', { calls: 2 }, async ({ s, rx }) => {
    const r = await s.api('POST', '/v1/click-to-call', { from: '+15550300001', to: '+15550300002' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.driver, 'sip');
    const id = r.body.id as string;
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    const expected = ['call.accepted', 'leg.initiated/from', 'leg.ringing/from', 'leg.answered/from', 'leg.initiated/to', 'leg.ringing/to', 'leg.answered/to', 'call.ended'];
    assert.deepEqual(timeline(call), expected);
    assert.equal(call.outcome, 'completed');
    assert.deepEqual(await delivered(rx, id, expected.length), plain(expected));
  });
});

test('SIP over TCP, the trunk refusing the connection: failed at once, said as a transport error, not as timer B', async () => {
  const s = await startHookline({ sip: { trunk: `sip:127.0.0.1:${await freePort()};transport=tcp`, listen: { host: '127.0.0.1', port: await freePort() }, user: undefined, password: undefined, fromDomain: 'hookline.test' } });
  try {
    const id = await place(s);
    const call = await waitEnded(s.url, id);
    assertEndedTimeline(call);
    assert.equal(call.outcome, 'failed');
    const error = call.events.find((e: { type: string }) => e.type === 'call.error');
    assert.match(String(error?.message), /could not reach it \(transport error\)/);
    const leg = call.legs[0] as unknown as { sip_status: number; sip_reason: string };
    assert.deepEqual([leg.sip_status, leg.sip_reason], [503, 'Transport Error']);
  } finally {
    await s.stop();
  }
});
