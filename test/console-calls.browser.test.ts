/**
 * Issue 12, the Calls pages in a real browser: a test call placed from the form, its timeline
 * reaching `call.ended` live (the page is never reloaded), the call × target grid filling in as
 * two endpoints answer (one 200, one 503), hang-up and a transcript line from the call page, and
 * the list's filters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_SKIP, expect, screenshot, signIn, startConsole } from './browser-harness.ts';
import { answer, createEndpoint, placeCall, waitEnded } from './delivery-helpers.ts';
import { startReceiver } from './helpers.ts';

test('place a test call: its timeline reaches call.ended live and the call × target grid fills in', { skip: BROWSER_SKIP }, async (t) => {
  const good = await startReceiver();
  const bad = await startReceiver();
  bad.respond((_r, res) => answer(res, 503));
  t.after(() => good.close());
  t.after(() => bad.close());
  const { page, server, errors } = await startConsole(t, { retryScheduleMs: [60_000] });
  const okEp = await createEndpoint(server, { url: `${good.url}/hooks` });
  const badEp = await createEndpoint(server, { url: `${bad.url}/down` });

  await signIn(page);
  await page.getByRole('navigation').getByRole('link', { name: 'Calls', exact: true }).click();
  // a marker on the window: gone if the page were reloaded
  await page.evaluate(() => Object.assign(globalThis, { hooklineMarker: 1 }));
  await page.getByRole('button', { name: 'Place test call' }).click();
  await page.getByLabel('From').fill('+15550111');
  await page.getByLabel('To').fill('+15550122');
  await page.getByLabel('Outcome').selectOption('answer');
  await page.getByLabel('Ring seconds').fill('0.3');
  await page.getByLabel('Talk seconds').fill('1');
  await screenshot(page, 'place-test-call');
  await page.getByRole('button', { name: 'Place call' }).click();

  const heading = page.getByRole('heading', { level: 2, name: /^call_/ });
  await heading.waitFor();
  const id = (await heading.innerText()).trim();
  const timeline = page.getByRole('list', { name: 'Timeline' });
  // the events arrive while the page watches: call.ended comes ~1.3 s after the call is placed
  await timeline.getByText('call.ended', { exact: true }).waitFor();
  for (const type of ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered']) await timeline.getByText(type, { exact: true }).waitFor();
  assert.equal(await page.evaluate(() => (globalThis as unknown as { hooklineMarker?: number }).hooklineMarker), 1, 'the page was reloaded');
  await page.getByText(id, { exact: true }).waitFor();

  // the grid: one column per endpoint, the ended event succeeded at one and failed (503) at the other
  const grid = page.getByRole('table', { name: 'Deliveries by event and target' });
  await grid.getByRole('columnheader', { name: new RegExp(`${good.url}/hooks`) }).waitFor();
  await grid.getByRole('columnheader', { name: new RegExp(`${bad.url}/down`) }).waitFor();
  const row = (type: string) => grid.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(type.replace('.', '\\.')) }) });
  await row('call.ended').locator(`td[data-target="${okEp.id}"][data-status="succeeded"]`).waitFor();
  // the bad endpoint answered the first event 503 (retried in a minute); the later ones wait behind it, in order
  await expect(async () => /503/.test(await row('call.accepted').locator(`td[data-target="${badEp.id}"]`).innerText()), 'call.accepted answered 503 by the bad endpoint');
  await expect(async () => /waits for an earlier event/.test(await row('call.ended').locator(`td[data-target="${badEp.id}"]`).innerText()), 'call.ended waiting at the bad endpoint');
  const events = (await server.api('GET', `/v1/calls/${id}`)).body.events.length;
  await expect(async () => (await grid.locator('td[data-status="succeeded"]').count()) === events, `all ${events} events succeeded at the good endpoint`);
  assert.ok(good.requests.length >= events);
  assert.ok(bad.requests.length >= 1);
  await screenshot(page, 'call');
  assert.deepEqual(errors.filter((e) => !/503|Failed to load resource/.test(e)), []);
});

test('a call page: hang up a ringing call, add a transcript line, live', { skip: BROWSER_SKIP }, async (t) => {
  const { page, server } = await startConsole(t);
  await signIn(page);
  const id = await placeCall(server, { ring_ms: 60_000 });
  await page.goto(`${server.url}/console/#/calls/${id}`);
  await page.getByRole('heading', { name: id }).waitFor();
  const timeline = page.getByRole('list', { name: 'Timeline' });
  await timeline.getByText('leg.initiated', { exact: true }).waitFor();
  await page.getByLabel('Speaker').fill('agent');
  await page.getByLabel('Line', { exact: true }).fill('Hello from the console');
  await page.getByRole('button', { name: 'Add transcript line' }).click();
  await timeline.getByText('call.transcript', { exact: true }).waitFor();
  await timeline.getByText(/Hello from the console/).waitFor();
  await page.getByRole('button', { name: 'Hang up' }).click();
  await timeline.getByText('call.ended', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Hang up' }).waitFor({ state: 'detached' });
  // an ended call takes no more transcript lines: the form goes with the Hang up button
  await page.getByRole('button', { name: 'Add transcript line' }).waitFor({ state: 'detached' });
  assert.equal((await server.api('GET', `/v1/calls/${id}`)).body.outcome, 'cancelled');
});

test('the calls list: live, filtered by status and result, paged', { skip: BROWSER_SKIP }, async (t) => {
  const { page, server } = await startConsole(t);
  const ended = [];
  for (let i = 0; i < 3; i++) ended.push(await placeCall(server, { outcome: 'busy' }));
  for (const id of ended) await waitEnded(server, id);
  await signIn(page);
  const rows = page.getByRole('table').getByRole('row');
  await page.getByRole('link', { name: ended[0]! }).waitFor();
  // a call placed elsewhere appears without a reload
  const ringing = await placeCall(server, { ring_ms: 60_000 });
  await page.getByRole('link', { name: ringing }).waitFor();
  await screenshot(page, 'calls');
  await page.getByLabel('Result').selectOption('busy');
  await expect(async () => (await rows.count()) === 4, 'three busy calls and the header');
  await page.getByRole('link', { name: ringing }).waitFor({ state: 'detached' });
  await page.getByLabel('Result').selectOption('');
  await page.getByLabel('Status').selectOption('ringing');
  await page.getByRole('link', { name: ringing }).waitFor();
  await expect(async () => (await rows.count()) === 2, 'one ringing call');
  // a page of 25: place enough for a second page
  await page.getByLabel('Status').selectOption('');
  for (let i = 0; i < 23; i++) await placeCall(server, { ring_ms: 60_000 });
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByRole('link', { name: ended[0]! }).waitFor();
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.getByRole('link', { name: ended[0]! }).waitFor({ state: 'detached' });
});

test('the calls list filtered by kind, number and the switch\'s call id, as the API filters', { skip: BROWSER_SKIP }, async (t) => {
  const { page, server } = await startConsole(t);
  const mine = await placeCall(server, {}, { to: '+15550777' });
  const other = await placeCall(server);
  const sw = await server.api('POST', '/v1/call-events', { event_id: 'console-sw-1', call_id: 'sw-console-1', type: 'leg.initiated', from: '+15550300', to: '+15550301', direction: 'inbound' });
  assert.equal(sw.status, 201, JSON.stringify(sw.body));
  await signIn(page);
  const rows = page.getByRole('table').getByRole('row');
  await page.getByRole('link', { name: other }).waitFor();
  await page.getByLabel('Called').fill('+15550777');
  await page.getByLabel('Called').press('Enter');
  await page.getByRole('link', { name: other }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: mine }).waitFor();
  await expect(async () => (await rows.count()) === 2, 'one call to +15550777');
  await expect(() => page.url().includes('to=%2B15550777'), 'the filter in the URL');
  await page.getByLabel('Called').fill('');
  await page.getByLabel('Called').press('Enter');
  await page.getByLabel('Switch call id').fill('sw-console-1');
  await page.getByLabel('Switch call id').press('Enter');
  await page.getByRole('link', { name: sw.body.id }).waitFor();
  await expect(async () => (await rows.count()) === 2, 'the switch call alone');
  await page.getByLabel('Switch call id').fill('');
  await page.getByLabel('Switch call id').press('Enter');
  await page.getByLabel('Kind').selectOption('inbound');
  await page.getByRole('link', { name: sw.body.id }).waitFor();
  await expect(async () => (await rows.count()) === 2, 'one inbound call');
  // its page names the switch's call id and the driver
  await page.getByRole('link', { name: sw.body.id }).click();
  await page.getByRole('heading', { name: sw.body.id }).waitFor();
  await page.getByText('switch call sw-console-1').waitFor();
  await page.getByText(/driver external/).waitFor();
});
