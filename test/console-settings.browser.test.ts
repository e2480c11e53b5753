/**
 * Issue 12, the settings pages in a real browser: for one target of every format, create, edit,
 * disable, re-enable and test it (before saving and after), each test reaching a real receiver
 * on 127.0.0.1; and an API problem shown beside the field it names.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { BROWSER_SKIP, expect, screenshot, signIn, startConsole, type ConsoleHarness } from './browser-harness.ts';
import { startReceiver, type Receiver, type Received } from './helpers.ts';

async function setUp(t: TestContext): Promise<{ h: ConsoleHarness; page: Page; rx: Receiver }> {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const h = await startConsole(t);
  // Delete and Rotate secret ask first
  h.page.on('dialog', (d) => void d.accept());
  await signIn(h.page);
  return { h, page: h.page, rx };
}

const go = (page: Page, name: string): Promise<void> => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();

/** The request the receiver got on `path` (waits for it). */
const received = (rx: Receiver, path: string, since = 0): Promise<Received> =>
  expect(() => rx.requests.slice(since).find((r) => r.url.startsWith(path)), `a request to ${path}`);

/** Page errors other than the browser's own line about a 4xx answer (the forms ask for those). */
const pageErrors = (h: ConsoleHarness): string[] => h.errors.filter((e) => !/Failed to load resource/.test(e));

interface Lifecycle {
  nav: string;
  noun: string;
  api: string;
  /** fills a new form: everything but the URL, which `url` sets */
  fill(form: Locator): Promise<void>;
  /** the URL field's value for a path on the receiver */
  url?: (base: string, path: string) => string;
  /** what every request of this format must look like */
  check(r: Received): void;
}

/**
 * One target through its life on its page: a test of the unsaved form, Create, Edit (a new URL),
 * Disable, Enable, and the row's Send test, each checked in the API and at the receiver.
 */
async function lifecycle(t: TestContext, kind: Lifecycle): Promise<{ page: Page; id: string; h: ConsoleHarness }> {
  const { h, page, rx } = await setUp(t);
  const urlOf = kind.url ?? ((base, p) => base + p);
  await go(page, kind.nav);
  await page.getByRole('button', { name: `Add ${kind.noun}` }).click();
  const form = page.getByRole('form', { name: `New ${kind.noun}` });
  await form.getByLabel('URL', { exact: true }).fill(urlOf(rx.url, '/unsaved'));
  await kind.fill(form);

  // a test before saving reaches the receiver
  await form.getByRole('button', { name: 'Send test' }).click();
  await form.getByRole('status').filter({ hasText: 'Test delivered' }).waitFor();
  kind.check(await received(rx, '/unsaved'));
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, `settings-${kind.nav.toLowerCase().replace(/ /g, '-')}`);
  assert.equal((await h.server.api('GET', kind.api)).body.data.length, 0, 'a test saves nothing');

  await form.getByRole('button', { name: 'Create' }).click();
  await form.waitFor({ state: 'detached' });
  const list = (await h.server.api('GET', kind.api)).body.data;
  assert.equal(list.length, 1);
  const id: string = list[0].id;
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.filter({ hasText: '/unsaved' }).waitFor();

  // edit: a new URL
  await row.getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('form', { name: `Edit ${kind.noun}` });
  await edit.getByLabel('URL', { exact: true }).fill(urlOf(rx.url, '/saved'));
  await edit.getByRole('button', { name: 'Save' }).click();
  await row.filter({ hasText: '/saved' }).waitFor();
  assert.match((await h.server.api('GET', `${kind.api}/${id}`)).body.url, /\/saved/);

  // disable, re-enable
  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByText('disabled: disabled by the user').waitFor();
  assert.equal((await h.server.api('GET', `${kind.api}/${id}`)).body.enabled, false);
  await row.getByRole('button', { name: 'Enable' }).click();
  await row.getByText('enabled', { exact: true }).waitFor();
  assert.equal((await h.server.api('GET', `${kind.api}/${id}`)).body.enabled, true);

  // the saved target's test
  const before = rx.requests.length;
  await row.getByRole('button', { name: 'Send test' }).click();
  await page.locator(`tr[data-for="${id}"]`).getByRole('status').filter({ hasText: 'Test delivered' }).waitFor();
  kind.check(await received(rx, '/saved', before));
  assert.deepEqual(pageErrors(h), []);
  return { page, id, h };
}

test('Endpoints: create, edit, disable, re-enable, test (unsaved and saved), reveal and rotate the secret', { skip: BROWSER_SKIP }, async (t) => {
  const { page, id, h } = await lifecycle(t, {
    nav: 'Endpoints', noun: 'endpoint', api: '/v1/endpoints',
    fill: async (form) => {
      await form.getByLabel('Description').fill('browser test');
      await form.getByRole('group', { name: 'Direction filter' }).getByLabel('outbound').check();
    },
    check: (r) => {
      assert.match(String(r.headers['webhook-signature']), /^v1,/);
      assert.equal(JSON.parse(r.body).type, 'call.ended');
    },
  });
  const ep = (await h.server.api('GET', `/v1/endpoints/${id}`)).body;
  assert.deepEqual(ep.filters, { direction: ['outbound'] });
  assert.equal(ep.description, 'browser test');
  const row = page.locator(`tr[data-id="${id}"]`);
  const { secret } = (await h.server.api('GET', `/v1/endpoints/${id}/secret`)).body;
  await row.getByRole('button', { name: 'Reveal secret' }).click();
  await row.getByText(secret, { exact: true }).waitFor();
  await row.getByRole('button', { name: 'Rotate secret' }).click();
  const rotated = await expect(async () => {
    const s = (await h.server.api('GET', `/v1/endpoints/${id}/secret`)).body.secret;
    return s !== secret && s;
  }, 'a rotated secret');
  await row.getByText(rotated, { exact: true }).waitFor();

  // the saved test's "Request as sent" links to its page in the delivery log: the same request there
  const result = page.locator(`tr[data-for="${id}"]`).getByRole('status');
  await result.getByText('Request as sent').click();
  const sent = await result.locator('pre').first().innerText();
  await result.getByRole('link', { name: "open the delivery's page" }).click();
  const test = (await h.server.api('GET', '/v1/deliveries?call_id=test')).body.data[0];
  assert.equal(test.target.id, id);
  await page.getByRole('heading', { name: test.id }).waitFor();
  const attempt = page.getByRole('article', { name: 'Attempt 1' });
  await attempt.getByText(sent.split('\n')[0]!, { exact: true }).waitFor();
  assert.match(await attempt.innerText(), /200/);
});

test('Callback profiles (seed 000): create, edit, disable, re-enable, test', { skip: BROWSER_SKIP }, async (t) => {
  await lifecycle(t, {
    nav: 'Callback profiles', noun: 'callback profile', api: '/v1/callback-profiles',
    url: (base, p) => `${base}${p}?caller={{caller}}`,
    fill: async (form) => {
      await form.getByLabel('Name').fill('CRM');
    },
    check: (r) => {
      assert.match(r.url, /caller=%2B905555555555/);
      assert.equal(JSON.parse(r.body).event, 'call_end');
    },
  });
});

test('Webhooks (seed 001): a compose template, its preview from a sample call, create, edit, disable, re-enable, test', { skip: BROWSER_SKIP }, async (t) => {
  const { page } = await lifecycle(t, {
    nav: 'Webhooks', noun: 'webhook', api: '/v1/webhooks',
    url: (base, p) => `${base}${p}?id={{id}}`,
    fill: async (form) => {
      await form.getByLabel('Compose webhook').check();
      await form.getByLabel('Body template').fill('{"id": "{{id}}", "to": "{{to}}", "status": "{{status}}", "duration": "{{duration}}"}');
      // the preview renders the sample call's report as the template stands
      const preview = form.page().getByRole('complementary', { name: 'Preview' });
      await preview.getByText('"status": "ANSWER"').waitFor();
      await preview.getByText('"to": "+905555555554"').waitFor();
    },
    check: (r) => {
      const body = JSON.parse(r.body);
      assert.equal(body.to, '+905555555554');
      assert.equal(body.status, 'ANSWER');
      assert.match(r.url, /\?id=/);
    },
  });
  assert.ok(page);
});

test('Subscriptions (seed 002): status and channelId filters, signing key, create, edit, disable, re-enable, test', { skip: BROWSER_SKIP }, async (t) => {
  const { h, id } = await lifecycle(t, {
    nav: 'Subscriptions', noun: 'subscription', api: '/v1/subscriptions',
    fill: async (form) => {
      await form.getByLabel('Event', { exact: true }).selectOption('voice.outbound');
      await form.getByLabel('Signing key').fill('mysecretkey');
      await form.getByRole('group', { name: 'Filter by call status' }).getByLabel('completed').check();
      await form.getByLabel('Filter channel ID').fill('b827924e-9789-4c2f-a4d5-b352175354f6');
      // the seed's own shape beside the form
      await form.page().getByRole('complementary', { name: 'Subscription' }).getByText('"key": "channelId"').waitFor();
    },
    check: (r) => {
      assert.ok(r.headers['messagebird-signature'], 'signed with the signing key');
      const body = JSON.parse(r.body);
      assert.deepEqual([body.service, body.event, body.payload.status, body.payload.channelId], ['channels', 'voice.outbound', 'completed', 'b827924e-9789-4c2f-a4d5-b352175354f6']);
    },
  });
  const sub = (await h.server.api('GET', `/v1/subscriptions/${id}`)).body;
  assert.equal(sub.event, 'voice.outbound');
  assert.equal(sub.signingKey, '[redacted]', 'the key kept through the edit');
  assert.deepEqual(sub.eventFilters, [{ key: 'channelId', value: 'b827924e-9789-4c2f-a4d5-b352175354f6' }, { key: 'status', value: 'completed' }]);
});

test('Call tracking (seed 003): a property, then a webhook for it: create, edit, disable, re-enable, test', { skip: BROWSER_SKIP }, async (t) => {
  let sid = '';
  const { h, id } = await lifecycle(t, {
    nav: 'Call tracking', noun: 'webhook', api: '/v1/call-tracking/webhooks',
    fill: async (form) => {
      const page = form.page();
      // a property first, in the section above: the open webhook form offers it at once
      await page.getByRole('button', { name: 'Add property' }).click();
      const pf = page.getByRole('form', { name: 'New property' });
      await pf.getByLabel('Property name').fill('example.com');
      await pf.getByRole('button', { name: 'Create' }).click();
      const props = page.getByRole('table', { name: 'properties' });
      await props.getByText('example.com').waitFor();
      sid = (await props.locator('tr[data-id]').first().getAttribute('data-id')) ?? '';
      assert.match(sid, /^PR[0-9a-f]{32}$/);
      await form.getByLabel('Method').selectOption('GET');
      await form.getByLabel('Property').selectOption(sid);
      // the seed's parameters of a sample call, for the property chosen
      const params = page.getByRole('complementary', { name: 'Parameters' });
      await params.getByRole('row', { name: 'Call.Disposition ANSWERED' }).waitFor();
      await params.getByRole('row', { name: `Property.Sid ${sid}` }).waitFor();
    },
    check: (r) => {
      assert.equal(r.method, 'GET');
      const p = new URL(r.url, 'http://x').searchParams;
      assert.equal(p.get('Event'), 'Call.Complete');
      assert.equal(p.get('Action'), 'Webhook');
      assert.ok(p.get('Property.Sid'));
    },
  });
  assert.equal((await h.server.api('GET', `/v1/call-tracking/webhooks/${id}`)).body.property_sid, sid);
});

test('Custom webhook (seed 004): Enabled, URL, Additional Headers, events; Test webhook before and after Save; disable and re-enable', { skip: BROWSER_SKIP }, async (t) => {
  const { h, page, rx } = await setUp(t);
  const api = (): Promise<any> => h.server.api('GET', '/v1/integrations/custom-webhook').then((r) => r.body);
  await go(page, 'Custom webhook');
  const enabled = page.getByRole('switch', { name: 'Enabled' });
  await enabled.waitFor();
  assert.equal(await enabled.getAttribute('aria-checked'), 'false');
  // the seed's events, one checkbox each, all subscribed by default
  for (const e of ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'call_ended', 'error']) {
    assert.equal(await page.getByRole('checkbox', { name: e, exact: true }).isChecked(), true, e);
  }
  await enabled.click();
  await page.getByLabel('URL', { exact: true }).fill(`${rx.url}/unsaved`);
  await page.getByRole('button', { name: 'Add header' }).click();
  await page.getByLabel('Header 1 name').fill('X-Team');
  await page.getByLabel('Header 1 value').fill('voice');
  await page.getByRole('checkbox', { name: 'transcript', exact: true }).uncheck();

  // Test webhook before Save: the form as it stands
  await page.getByRole('button', { name: 'Test webhook' }).click();
  await page.getByRole('status').filter({ hasText: 'Test delivered' }).waitFor();
  const first = await received(rx, '/unsaved');
  assert.equal(first.headers['x-team'], 'voice');
  const body = JSON.parse(first.body);
  assert.deepEqual([body.event_type, body.is_test, typeof body.timestamp_utc], ['call_initiated', true, 'number']);
  assert.equal((await api()).url, null, 'a test saves nothing');
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, 'settings-custom-webhook');

  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  let saved = await api();
  assert.equal(saved.enabled, true);
  assert.equal(saved.url, `${rx.url}/unsaved`);
  assert.deepEqual(saved.events, ['call_initiated', 'call_ringing', 'call_answered', 'call_ended', 'error']);
  assert.deepEqual(saved.headers, { 'X-Team': 'voice' });

  // edit: a new URL
  await page.getByLabel('URL', { exact: true }).fill(`${rx.url}/saved`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(async () => (await api()).url === `${rx.url}/saved`, 'the new URL saved');

  // disable, re-enable
  await enabled.click();
  assert.equal(await enabled.getAttribute('aria-checked'), 'false');
  await page.getByRole('button', { name: 'Save' }).click();
  saved = await expect(async () => { const v = await api(); return v.enabled === false && v; }, 'disabled');
  assert.equal(saved.disabled_reason, 'disabled by the user');
  await page.getByText('disabled: disabled by the user').waitFor();
  await enabled.click();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(async () => (await api()).enabled === true, 're-enabled');

  // Test webhook after Save, for call_ended: the saved integration
  await page.getByLabel('Test event').selectOption('call_ended');
  const before = rx.requests.length;
  await page.getByRole('button', { name: 'Test webhook' }).click();
  const second = await received(rx, '/saved', before);
  const ended = JSON.parse(second.body);
  assert.deepEqual([ended.event_type, ended.is_test], ['call_ended', true]);
  assert.equal(ended.payload.call_id, 1);
  await page.getByRole('status').filter({ hasText: 'call_ended' }).waitFor();
  assert.deepEqual(pageErrors(h), []);
});

test('a form error is shown beside the field the API names', { skip: BROWSER_SKIP }, async (t) => {
  const { page } = await setUp(t);
  await go(page, 'Endpoints');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const form = page.getByRole('form', { name: 'New endpoint' });
  const url = form.getByLabel('URL', { exact: true });
  await url.fill('not a url');
  await form.getByRole('button', { name: 'Create' }).click();
  const alert = form.getByRole('alert');
  await alert.filter({ hasText: 'url is not a valid absolute URL' }).waitFor();
  // tied to the field: aria-describedby names the message, aria-invalid marks it
  assert.equal(await url.getAttribute('aria-invalid'), 'true');
  const describedBy = await url.getAttribute('aria-describedby');
  assert.ok(describedBy);
  assert.equal(await alert.getAttribute('id'), describedBy);
  await screenshot(page, 'settings-form-error');

  // a header the API refuses: beside the headers
  await url.fill('http://127.0.0.1:9/hooks');
  await form.getByRole('button', { name: 'Add header' }).click();
  await form.getByLabel('Header 1 name').fill('Content-Length');
  await form.getByLabel('Header 1 value').fill('1');
  await form.getByRole('button', { name: 'Create' }).click();
  await form.getByRole('group', { name: 'Headers' }).getByRole('alert').filter({ hasText: 'Content-Length is set by Hookline' }).waitFor();
  assert.equal(await url.getAttribute('aria-invalid'), null, 'the URL is fine now');

  // a compose template with an unknown variable: beside the body template
  await go(page, 'Webhooks');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const wf = page.getByRole('form', { name: 'New webhook' });
  await wf.getByLabel('URL', { exact: true }).fill('http://127.0.0.1:9/report');
  await wf.getByLabel('Compose webhook').check();
  await wf.getByLabel('Body template').fill('{"who": "{{caller}}"}');
  // the test of the unsaved form is checked as a create is
  await wf.getByRole('button', { name: 'Send test' }).click();
  const body = wf.getByLabel('Body template');
  await expect(async () => (await body.getAttribute('aria-invalid')) === 'true', 'the body template marked invalid');
  const msg = page.locator(`#${(await body.getAttribute('aria-describedby'))!.replace(/:/g, '\\:')}`);
  assert.match(await msg.innerText(), /unknown variable \{\{caller\}\}/);
  assert.equal(await msg.getAttribute('role'), 'alert');

  // seed 004: Enabled without a URL is refused, beside the URL
  await go(page, 'Custom webhook');
  await page.getByRole('switch', { name: 'Enabled' }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  const cw = page.getByLabel('URL', { exact: true });
  await expect(async () => (await cw.getAttribute('aria-invalid')) === 'true', 'the URL marked invalid');
  const why = page.locator(`#${(await cw.getAttribute('aria-describedby'))!.replace(/:/g, '\\:')}`);
  assert.match(await why.innerText(), /url is required to enable the integration/);
});

test('Resend dead: a target\'s dead deliveries sent again from its row, oldest first', { skip: BROWSER_SKIP }, async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  rx.respond((_r, res) => void res.writeHead(500).end());
  const h = await startConsole(t, { retryScheduleMs: [20] });
  await signIn(h.page);
  const ep = (await h.server.api('POST', '/v1/endpoints', { url: `${rx.url}/dead` })).body;
  const call = (await h.server.api('POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: { ring_ms: 10, talk_ms: 20 } })).body;
  const dead = await expect(async () => {
    const ds = (await h.server.api('GET', `/v1/deliveries?call_id=${call.id}&limit=100`)).body.data as { status: string }[];
    return ds.length >= 5 && ds.every((d) => d.status === 'dead') && ds.length;
  }, 'every delivery of the call dead');
  rx.respond((_r, res) => void res.writeHead(200).end());
  await go(h.page, 'Endpoints');
  const row = h.page.locator(`tr[data-id="${ep.id}"]`);
  await row.getByRole('button', { name: 'Resend dead' }).click();
  await h.page.locator(`tr[data-for="${ep.id}"]`).getByRole('status').filter({ hasText: `${dead} dead deliveries sent again` }).waitFor();
  await expect(async () => {
    const ds = (await h.server.api('GET', `/v1/deliveries?call_id=${call.id}&limit=100`)).body.data as { status: string }[];
    return ds.every((d) => d.status === 'succeeded');
  }, 'every resent delivery to succeed');
  assert.deepEqual(pageErrors(h), []);
});
