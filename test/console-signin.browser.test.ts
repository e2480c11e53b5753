/**
 * Issue 12, console sign-in in a real browser: a wrong key is refused with the API's words and
 * stays out of storage; the right one opens the console; sign-out forgets it. The key is never
 * in a URL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_SKIP, screenshot, signIn, startConsole } from './browser-harness.ts';

test('sign-in: a wrong key is refused, the right one opens the console, sign-out forgets it', { skip: BROWSER_SKIP }, async (t) => {
  const { page, server } = await startConsole(t);
  await page.getByLabel('API key').fill('hk_wrong_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /key/i);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.equal(await page.getByRole('navigation').count(), 0);
  await screenshot(page, 'sign-in');

  await signIn(page, server.key);
  const nav = page.getByRole('navigation');
  for (const name of ['Calls', 'Deliveries', 'Endpoints', 'Callback profiles', 'Webhooks', 'Subscriptions', 'Call tracking', 'Custom webhook']) {
    await nav.getByRole('link', { name, exact: true }).waitFor();
  }
  assert.ok(!page.url().includes(server.key));
  // a reload keeps the session (sessionStorage), a sign-out ends it
  await page.reload();
  await nav.getByRole('link', { name: 'Calls', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});
