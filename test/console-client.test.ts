/**
 * Issue 12: the console's client is typed from Hookline's own /openapi.json. The types
 * (src/console/openapi.d.ts) are regenerated here in memory, from the routes as they are now, and
 * must equal the committed file: a route whose request or answer changed without
 * `npm run gen:client` fails this test.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLIENT_TYPES, clientTypes } from '../scripts/gen-client.ts';

test('the console client types (src/console/openapi.d.ts) are up to date with /openapi.json', async () => {
  const fresh = await clientTypes();
  const committed = readFileSync(CLIENT_TYPES, 'utf8');
  if (fresh === committed) return;
  const a = fresh.split('\n');
  const b = committed.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  assert.fail(`src/console/openapi.d.ts is out of date (first difference at line ${i + 1}: generated ${JSON.stringify(a[i])}, committed ${JSON.stringify(b[i])}); run npm run gen:client`);
});

test('the generated types name the routes the console uses', async () => {
  const text = readFileSync(CLIENT_TYPES, 'utf8');
  for (const p of ['/v1/calls', '/v1/calls/{id}', '/v1/calls/{id}/hangup', '/v1/calls/{id}/transcript', '/v1/deliveries', '/v1/deliveries/{id}/retry', '/v1/stream/tokens', '/v1/endpoints']) {
    assert.ok(text.includes(`"${p}": {`), p);
  }
});
