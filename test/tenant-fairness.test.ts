/**
 * One tenant cannot hold every request slot of a process: an account's targets that hang (300
 * connections accepted and never answered, 20 s timeouts) take at most ACCOUNT_MAX_IN_FLIGHT
 * (192) of the dispatcher's 256, so another account's deliveries still go out at once.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { startHookline, startReceiver, waitFor } from './helpers.ts';

test('an account whose endpoints all hang holds at most 192 requests in flight; another account is delivered at once', { timeout: 60_000 }, async () => {
  const held = new Set<Socket>();
  // Three origins: the client keeps at most 128 connections to one.
  const hanging = await Promise.all([0, 1, 2].map(async () => {
    const server = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => held.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }));
  const rx = await startReceiver();
  const s = await startHookline({ retryScheduleMs: [60_000] });
  try {
    const b = await s.api('POST', '/v1/accounts', { name: 'noisy' });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const bKey = b.body.api_key as string;
    for (const server of hanging) {
      const ep = await s.api('POST', '/v1/endpoints', { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/h`, events: ['call.accepted'], concurrency: 128, timeout_ms: 20_000 }, { key: bKey });
      assert.equal(ep.status, 201, JSON.stringify(ep.body));
    }
    // 100 calls × 3 endpoints: 300 requests that could be in flight at once (128 a target).
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const r = await s.api('POST', '/v1/calls', { from: `+1555010${String(i).padStart(4, '0')}`, to: '+15550109999', simulate: { ring_ms: 60_000 } }, { key: bKey });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }));
    await waitFor(() => held.size >= 192, 10_000, 'the noisy account’s requests to hang');
    const ep = await s.api('POST', '/v1/endpoints', { url: `${rx.url}/quiet`, events: ['call.accepted'] });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    const placed = await s.api('POST', '/v1/calls', { from: '+15550200001', to: '+15550200002', simulate: { ring_ms: 60_000 } });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await waitFor(() => rx.requests.some((r) => r.url === '/quiet'), 5_000, 'the quiet account’s delivery, beside the hanging ones');
    assert.ok(held.size <= 192, `the noisy account holds ${held.size} requests`);
  } finally {
    for (const socket of held) socket.destroy();
    await s.stop();
    await rx.close();
    await Promise.all(hanging.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
});
