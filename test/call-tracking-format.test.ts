/**
 * Issue 5, seed 003: call-tracking webhooks. Properties, webhooks by GET (query) and POST (form),
 * Call.Initiate and Call.Complete with exactly the seed's parameter names and presence rules, and
 * every Call.Disposition.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startHookline, startReceiver, type Received, type Receiver, type TestServer } from './helpers.ts';
import { headerRecord, newSecret, newTenant, received, settle, waitForEvent, type Tenant } from './account-format-helpers.ts';

const FAST = { ring_ms: 20, talk_ms: 50 };
const FROM = '+61412345678';
const TO = '+61290001111';

let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline({ retryScheduleMs: [30, 30, 30] });
  rx = await startReceiver();
});
after(async () => {
  await s.stop();
  await rx.close();
});

/** The parameters of one request: query string for GET, form body for POST. Fails on a repeated name. */
function paramsOf(r: Received, dropQuery: string[] = []): Record<string, string> {
  let entries: [string, string][];
  if (r.method === 'GET') {
    assert.equal(r.body, '', 'GET has no body');
    entries = [...new URL(r.url, 'http://x').searchParams].filter(([k]) => !dropQuery.includes(k));
  } else {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    entries = [...new URLSearchParams(r.body)];
  }
  const out = Object.fromEntries(entries);
  assert.equal(Object.keys(out).length, entries.length, `a parameter is repeated: ${entries.map(([k]) => k).join(', ')}`);
  return out;
}

const forCall = (call: { id: string }, dropQuery: string[] = []) => (r: Received) => paramsOf(r, dropQuery)['Call.Sid'] === call.id;

/** yyyy-MM-dd HH:mm:ss in UTC, from an ISO 8601 time. */
const seedDate = (iso: unknown) => String(iso).slice(0, 19).replace('T', ' ');

async function property(t: Tenant, name: string): Promise<string> {
  const r = await t.api('POST', '/v1/properties', { name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(typeof r.body.sid, 'string');
  assert.ok(r.body.sid.length > 0);
  assert.equal(r.body.name, name);
  assert.equal(r.body.type, 'Site');
  return r.body.sid;
}

async function webhook(t: Tenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api('POST', '/v1/call-tracking/webhooks', { ...body, url: `${rx.url}${body.url as string}` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(r.body.id);
  return r.body.id;
}

async function inbound(t: Tenant, body: Record<string, unknown>): Promise<string> {
  const r = await t.api('POST', '/v1/inbound-calls', { from: FROM, to: TO, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const FULL = {
  number: { type: 'Dynamic', name: 'Google Ads pool' },
  caller: { country: 'Australia', region: 'NSW', city: 'Sydney' },
  attribution: { source: 'bing', medium: 'organic', campaign: '2019 promo', content: 'variation 1' },
  session: { traffic_type: 'Campaign', keywords: 'emergency plumber', conversion_uri: 'https://example.com/contact?a=1&b=2', landing_uri: 'https://example.com/', custom_dimension1: 'member' },
  google: { analytics_client_id: '1234567890.1234567890', adwords_click_id: 'EAIaIQobChMI' },
  survey: { type: 'New enquiry', value: 250, custom1: 'Residential', custom2: 'Hot water', custom3: 'Urgent', unique_code: '4821' },
  prompts: { postcode: '2000,2010', keys: '1,2000,2010' },
  endpoint: '+61299990000',
};

test('properties and webhooks; Call.Initiate and Call.Complete with every parameter known, over GET and over POST', async () => {
  const t = await newTenant(s);
  const site = await property(t, 'example.com');
  const other = await property(t, 'other.example');
  assert.notEqual(site, other);
  const got = await t.api('GET', `/v1/properties/${site}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.sid, site);

  await webhook(t, { url: '/ct/get?customer=42', method: 'GET', property_sid: site });
  await webhook(t, { url: '/ct/post', method: 'POST' }); // every property of the account
  await webhook(t, { url: '/ct/other', method: 'POST', property_sid: other });

  const id = await inbound(t, { tracking: { property_sid: site, ...FULL }, simulate: { ring_ms: 20, talk_ms: 1200, recording_url: 'https://rec.example/r/1.mp3' } });
  const { call } = await settle(t, id);
  assert.ok(Number(call.duration) >= 1, `duration ${call.duration}`);

  const common = {
    'Action': 'Webhook',
    'Account.Sid': t.id,
    'Property.Sid': site,
    'Property.Name': 'example.com',
    'Property.Type': 'Site',
    'Call.Sid': call.id,
    'Call.StartDate': seedDate(call.started_at),
    'Call.From': FROM,
    'Call.From.Country': 'Australia',
    'Call.From.Region': 'NSW',
    'Call.From.City': 'Sydney',
    'Call.To': TO,
    'Call.To.Name': 'Google Ads pool',
    'Call.Endpoint': '+61299990000',
    'Attribution.Source': 'bing',
    'Attribution.Medium': 'organic',
    'Attribution.Campaign': '2019 promo',
    'Attribution.Content': 'variation 1',
    'Session.Traffic.Type': 'Campaign',
    'Session.Keywords': 'emergency plumber',
    'Session.ConversionUri': 'https://example.com/contact?a=1&b=2',
    'Session.LandingUri': 'https://example.com/',
    'AnalyticsSession.CustomDimension1': 'member',
    'Google.Analytics.ClientId': '1234567890.1234567890',
    'Google.AdWords.ClickId': 'EAIaIQobChMI',
  };
  const initiate = { ...common, 'Event': 'Call.Initiate' };
  const complete = {
    ...common,
    'Event': 'Call.Complete',
    'Call.To.Type': 'Dynamic',
    'Call.Duration': String(call.duration),
    'Call.Disposition': 'ANSWERED',
    'Call.Recording.Uri': 'https://rec.example/r/1.mp3',
    'Call.Survey.Type': 'New enquiry',
    'Call.Survey.Value': '250',
    'Call.Survey.Custom1': 'Residential',
    'Call.Survey.Custom2': 'Hot water',
    'Call.Survey.Custom3': 'Urgent',
    'Call.Survey.UniqueCode': '4821',
    'Call.Prompts.Postcode': '2000,2010',
    'Call.Prompts.Keys': '1,2000,2010',
  };
  assert.match(initiate['Call.StartDate'], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

  const viaGet = received(rx, '/ct/get', forCall(call, ['customer']));
  assert.equal(viaGet.length, 2);
  for (const r of viaGet) {
    assert.equal(r.method, 'GET');
    // The webhook's own query stays, first; the seed's parameters follow.
    assert.equal([...new URL(r.url, 'http://x').searchParams][0]!.join('='), 'customer=42');
  }
  assert.deepEqual(paramsOf(viaGet[0]!, ['customer']), initiate);
  assert.deepEqual(paramsOf(viaGet[1]!, ['customer']), complete);

  const viaPost = received(rx, '/ct/post', forCall(call));
  assert.equal(viaPost.length, 2);
  assert.deepEqual(paramsOf(viaPost[0]!), initiate);
  assert.deepEqual(paramsOf(viaPost[1]!), complete);

  // A webhook restricted to another property gets nothing.
  assert.equal(received(rx, '/ct/other').length, 0);
});

test('unknown data: the seed’s blanks are present and empty, optional parameters and the groups the call has no data for are left out', async () => {
  const t = await newTenant(s);
  const site = await property(t, 'blank.example');
  await webhook(t, { url: '/blank/get', method: 'GET' });
  await webhook(t, { url: '/blank/post', method: 'POST', property_sid: site });
  const id = await inbound(t, { tracking: { property_sid: site }, simulate: { ...FAST, outcome: 'no-answer' } });
  const { call } = await settle(t, id);
  const common = {
    'Action': 'Webhook', 'Account.Sid': t.id, 'Property.Sid': site, 'Property.Name': 'blank.example', 'Property.Type': 'Site',
    'Call.Sid': call.id, 'Call.StartDate': seedDate(call.started_at), 'Call.From': FROM,
    'Call.From.Country': '', 'Call.From.Region': '', 'Call.From.City': '',
    'Call.To': TO, 'Call.To.Name': '',
  };
  const initiate = { ...common, 'Event': 'Call.Initiate' };
  const complete = { ...common, 'Event': 'Call.Complete', 'Call.To.Type': 'Static', 'Call.Duration': '0', 'Call.Disposition': 'NO ANSWER' };
  for (const path of ['/blank/get', '/blank/post']) {
    const reqs = received(rx, path, forCall(call));
    assert.equal(reqs.length, 2, path);
    assert.deepEqual(paramsOf(reqs[0]!), initiate, path);
    assert.deepEqual(paramsOf(reqs[1]!), complete, path);
  }
});

test('issue 11: Attribution.* only when the call has attribution data, Session.* only with session data, Google.* when known', async () => {
  const t = await newTenant(s);
  const site = await property(t, 'groups.example');
  await webhook(t, { url: '/groups', method: 'POST', property_sid: site });
  const keys = async (tracking: Record<string, unknown>) => {
    const { call } = await settle(t, await inbound(t, { tracking: { property_sid: site, ...tracking }, simulate: FAST }));
    const reqs = received(rx, '/groups', forCall(call)).map((r) => paramsOf(r));
    assert.equal(reqs.length, 2);
    return reqs.map((p) => Object.keys(p).filter((k) => /^(Attribution|Session|AnalyticsSession|Google)\./.test(k)));
  };
  const ATTRIBUTION = ['Attribution.Source', 'Attribution.Medium', 'Attribution.Campaign', 'Attribution.Content'];
  const SESSION = ['Session.Traffic.Type', 'Session.ConversionUri', 'Session.LandingUri'];
  // attribution only: its four parameters (the unknown ones blank), no session group
  for (const k of await keys({ attribution: { source: 'bing' } })) assert.deepEqual(k, ATTRIBUTION);
  // session only: the session group (blanks where unknown), no attribution
  for (const k of await keys({ session: { landing_uri: 'https://groups.example/' } })) assert.deepEqual(k, SESSION);
  // a Google click id alone: that parameter, no group
  for (const k of await keys({ google: { adwords_click_id: 'gclid-1' } })) assert.deepEqual(k, ['Google.AdWords.ClickId']);
  // none: nothing of the three groups
  for (const k of await keys({})) assert.deepEqual(k, []);
});

test('every disposition: ANSWERED, NO ANSWER, BUSY, FAILED, and IVR for a caller who hangs up in the IVR', async () => {
  const t = await newTenant(s);
  const site = await property(t, 'dispositions.example');
  await webhook(t, { url: '/disp', method: 'POST', property_sid: site });
  const tracking = { property_sid: site };
  const dispositionOf = async (id: string) => {
    const { call } = await settle(t, id);
    const reqs = received(rx, '/disp', forCall(call)).map((r) => paramsOf(r));
    assert.deepEqual(reqs.map((p) => p.Event), ['Call.Initiate', 'Call.Complete'], `call ${call.id}`);
    assert.equal(reqs[0]!['Call.Disposition'], undefined, 'Call.Initiate has no disposition');
    assert.equal(reqs[1]!['Call.Duration'], String(call.duration));
    return { call, disposition: reqs[1]!['Call.Disposition'] };
  };
  assert.equal((await dispositionOf(await inbound(t, { tracking, simulate: FAST }))).disposition, 'ANSWERED');
  assert.equal((await dispositionOf(await inbound(t, { tracking, simulate: { ...FAST, outcome: 'no-answer' } }))).disposition, 'NO ANSWER');
  assert.equal((await dispositionOf(await inbound(t, { tracking, simulate: { ...FAST, outcome: 'busy' } }))).disposition, 'BUSY');
  assert.equal((await dispositionOf(await inbound(t, { tracking, simulate: { ...FAST, outcome: 'failed' } }))).disposition, 'FAILED');

  // In the IVR for 5 s; hung up there: no endpoint ever rang.
  const ivr = await inbound(t, { tracking, simulate: { ivr_ms: 5000, ...FAST } });
  const during = await waitForEvent(t, ivr, 'leg.initiated');
  assert.ok(!during.events.some((e) => e.type === 'leg.ringing'), 'still in the IVR');
  assert.equal((await t.api('POST', `/v1/calls/${ivr}/hangup`)).status, 200);
  const inIvr = await dispositionOf(ivr);
  assert.equal(inIvr.disposition, 'IVR');
  assert.ok(!inIvr.call.events.some((e) => e.type === 'leg.ringing'));
  assert.equal(inIvr.call.duration, 0);

  // Hung up while the endpoint rang: a transfer was attempted and not answered.
  const ringing = await inbound(t, { tracking, simulate: { ring_ms: 60_000 } });
  await waitForEvent(t, ringing, 'leg.ringing');
  assert.equal((await t.api('POST', `/v1/calls/${ringing}/hangup`)).status, 200);
  assert.equal((await dispositionOf(ringing)).disposition, 'NO ANSWER');

  // Hung up after the answer: ANSWERED, with the talk time.
  const talking = await inbound(t, { tracking, simulate: { ring_ms: 20, talk_ms: 60_000 } });
  await waitForEvent(t, talking, 'leg.answered');
  assert.equal((await t.api('POST', `/v1/calls/${talking}/hangup`)).status, 200);
  assert.equal((await dispositionOf(talking)).disposition, 'ANSWERED');
});

test('a tracking.property_sid that does not exist is 400 unknown_reference and no call is placed', async () => {
  const t = await newTenant(s);
  const mine = await property(t, 'mine.example');
  await webhook(t, { url: '/unknown', method: 'POST' });
  const elsewhere = await newTenant(s);
  const theirs = await property(elsewhere, 'theirs.example');
  for (const sid of ['PR00000000000000000000000000000000', theirs]) {
    const r = await t.api('POST', '/v1/inbound-calls', { from: FROM, to: TO, tracking: { property_sid: sid }, simulate: FAST });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'unknown_reference');
    assert.equal(r.body.field, 'tracking.property_sid');
    assert.match(r.body.detail, /tracking\.property_sid/);
  }
  assert.equal((await t.api('GET', '/v1/calls')).body.data.length, 0, 'no call was placed');
  // Tracking webhooks check their property too.
  const bad = await t.api('POST', '/v1/call-tracking/webhooks', { url: `${rx.url}/unknown`, property_sid: theirs });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'unknown_reference');
  // A call without tracking data is not a call-tracking call.
  const plain = await inbound(t, { simulate: FAST });
  const { deliveries } = await settle(t, plain);
  assert.equal(deliveries.filter((d) => d.target.format === 'call-tracking').length, 0);
  // …and one with a known property is.
  const known = await inbound(t, { tracking: { property_sid: mine }, simulate: FAST });
  const settled = await settle(t, known);
  assert.deepEqual(settled.deliveries.map((d) => d.event), ['Call.Initiate', 'Call.Complete']);
  assert.ok(settled.deliveries.every((d) => d.status === 'succeeded' && d.target.format === 'call-tracking'));
  assert.equal(received(rx, '/unknown').length, 2);
});

test('webhooks choose their events, and may carry a Standard Webhooks secret (GET and POST)', async () => {
  const t = await newTenant(s);
  const site = await property(t, 'signed.example');
  const secret = newSecret();
  await webhook(t, { url: '/signed/post', method: 'POST', secret });
  await webhook(t, { url: '/signed/get', method: 'GET', secret });
  await webhook(t, { url: '/complete-only', method: 'POST', events: ['Call.Complete'] });
  const { call } = await settle(t, await inbound(t, { tracking: { property_sid: site }, simulate: FAST }));
  const wh = new Webhook(secret);
  for (const path of ['/signed/post', '/signed/get']) {
    const reqs = received(rx, path, forCall(call));
    assert.equal(reqs.length, 2, path);
    for (const r of reqs) {
      // The signed content is the raw body: the form for POST, empty for GET.
      wh.verify(r.body, headerRecord(r), { jsonParse: false });
      assert.throws(() => new Webhook(newSecret()).verify(r.body, headerRecord(r), { jsonParse: false }));
    }
  }
  assert.deepEqual(received(rx, '/complete-only', forCall(call)).map((r) => paramsOf(r).Event), ['Call.Complete']);
  const list = await t.api('GET', '/v1/call-tracking/webhooks');
  assert.equal(list.body.data.length, 3);
  assert.ok(!JSON.stringify(list.body).includes(secret.slice(6)), 'the secret is not listed');
});
