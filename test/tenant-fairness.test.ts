/**
 * One tenant cannot hold every request slot of a process: an account's targets that hang (300
 * connections accepted and never answered, 20 s timeouts) take at most ACCOUNT_MAX_IN_FLIGHT
 * (192) of the dispatcher's 256, so another account's deliveries still go out at once.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { startHookline, startReceiver, waitFor } from './helpers.ts';

/** `targets` endpoints of the noisy account, over three hanging origins (the client keeps at most 128 connections to one), and `calls` calls to them. */
async function noisyBeside(targets: number, concurrency: number, calls: number): Promise<void> {
  const held = new Set<Socket>();
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
    for (let i = 0; i < targets; i++) {
      const port = (hanging[i % hanging.length]!.address() as { port: number }).port;
      const ep = await s.api('POST', '/v1/endpoints', { url: `http://127.0.0.1:${port}/h${i}`, events: ['call.accepted'], concurrency, timeout_ms: 20_000 }, { key: bKey });
      assert.equal(ep.status, 201, JSON.stringify(ep.body));
    }
    await Promise.all(Array.from({ length: calls }, async (_, i) => {
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
}

test('an account whose 3 endpoints hang (128 requests each) holds at most 192 requests in flight; another account is delivered at once', { timeout: 60_000 }, async () => {
  await noisyBeside(3, 128, 100); // 300 requests that could be in flight at once
});

test('an account whose 250 endpoints hang holds at most 192 requests in flight, its targets learnt as they come; another account is delivered at once', { timeout: 60_000 }, async () => {
  await noisyBeside(250, 16, 1); // one call fanned out to 250 targets
});
