/**
 * Issue 12, Deliveries in a real browser: a failing endpoint's delivery is found in the log by
 * its filters, its page shows every attempt (request with the signature redacted, the response's
 * status, headers and excerpt, latency); the endpoint is fixed (its receiver answers 200), Retry
 * is clicked and the delivery succeeds on the page, live. Then the overview shows the target.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_SKIP, expect, screenshot, signIn, startConsole } from './browser-harness.ts';
import { answer, createEndpoint, deliveries, placeCall, waitEnded } from './delivery-helpers.ts';
import { startReceiver, waitFor } from './helpers.ts';

test('a failing endpoint\'s delivery: its attempts shown, the endpoint fixed, Retry, succeeded', { skip: BROWSER_SKIP }, async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  rx.respond((_r, res) => answer(res, 500, { 'x-receiver': 'down' }));
  const { page, server } = await startConsole(t, { retryScheduleMs: [20, 40] });
  const ep = await createEndpoint(server, { url: `${rx.url}/hooks`, events: ['call.ended'] });
  const ok = await startReceiver();
  t.after(() => ok.close());
  await createEndpoint(server, { url: `${ok.url}/fine` });
  // a call with its own callback URL, a token in its query: the overview shows it redacted, unlinked
  // (it rings for the whole test: no call.ended for the failing endpoint)
  const withToken = await server.api('POST', '/v1/calls', {
    from: '+15550400001', to: '+15550400002', simulate: { ring_ms: 600_000 }, callback: { call_start: { url: [`${ok.url}/cb?api_key=consolesecret123`] } },
  });
  assert.equal(withToken.status, 201, JSON.stringify(withToken.body));
  const callId = await placeCall(server);
  await waitEnded(server, callId);
  const [dead] = await waitFor(async () => {
    const d = await deliveries(server, { target_id: ep.id, status: 'dead' });
    return d.length ? d : null;
  }, 15_000, 'the delivery to die');

  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Deliveries', exact: true }).click();
  await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
  await page.getByRole('link', { name: dead.id }).waitFor();
  // the filters: dead ones are this endpoint's only; call.ended at this target is this one
  await page.getByLabel('Status').selectOption('dead');
  const rows = page.getByRole('table').getByRole('row');
  await expect(async () => (await rows.count()) === 2, 'one dead delivery');
  await page.getByLabel('Status').selectOption('');
  await page.getByLabel('Event').selectOption('call.ended');
  await page.getByLabel('Target').selectOption(ep.id);
  await expect(async () => (await rows.count()) === 2, 'one call.ended delivery to the endpoint');
  await page.getByLabel('Call id').fill(callId);
  await page.getByLabel('Call id').press('Enter');
  await expect(() => page.url().includes(`call_id=${callId}`), 'the call filter in the URL');
  await page.getByRole('link', { name: dead.id }).waitFor();
  await screenshot(page, 'deliveries');

  await page.getByRole('link', { name: dead.id }).click();
  await page.getByRole('heading', { name: dead.id }).waitFor();
  for (const n of [1, 2, 3]) await page.getByRole('article', { name: `Attempt ${n}` }).waitFor();
  const first = page.getByRole('article', { name: 'Attempt 1' });
  const text = await first.innerText();
  assert.match(text, /500/);
  assert.match(text, /x-receiver\s+down/);
  assert.match(text, /answer 500/);
  assert.match(text, /\d+ ms/);
  assert.match(text, new RegExp(`POST ${rx.url}/hooks`));
  assert.match(text, /webhook-signature/i);
  assert.doesNotMatch(text, /v1,[A-Za-z0-9+/=]{20,}/, 'the signature is redacted');
  assert.match(text, /"type":\s*"call\.ended"/, 'the body sent is shown');
  await screenshot(page, 'delivery');

  // fixed: the receiver answers 200 now; Retry sends it again and the page shows it succeed
  rx.respond((_r, res) => answer(res, 200));
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('article', { name: 'Attempt 4' }).waitFor();
  assert.match(await page.getByRole('article', { name: 'Attempt 4' }).innerText(), /200/);
  await page.getByText('succeeded', { exact: true }).first().waitFor();
  assert.equal((await server.api('GET', `/v1/deliveries/${dead.id}`)).body.status, 'succeeded');

  // the overview counts the endpoint's hour: 4 attempts, 1 of them a success
  await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).click();
  const targets = page.getByRole('table', { name: 'Targets in the last hour' });
  const epRow = targets.getByRole('row').filter({ hasText: `${rx.url}/hooks` });
  await expect(async () => /25 %/.test(await epRow.innerText()), 'the endpoint at 25 % success');
  // the failing one comes first
  assert.match(await targets.getByRole('row').nth(1).innerText(), new RegExp(`${rx.url}/hooks`));
  const cbRow = targets.getByRole('row').filter({ hasText: `${ok.url}/cb` });
  await cbRow.waitFor();
  assert.doesNotMatch(await targets.innerText(), /consolesecret123/, 'the callback URL’s token is not shown');
  assert.equal(await cbRow.getByRole('link').count(), 0, 'no link that would put the token in the address bar');
  await screenshot(page, 'overview');
});
