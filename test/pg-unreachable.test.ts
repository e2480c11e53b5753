/**
 * The database going away under a running API process (PostgreSQL behind a TCP proxy that is
 * then shut): requests answer 503 `unavailable` with Retry-After, not 500 `internal`, and
 * /readyz says the same; once it is back, requests are served again.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { PostgresStore } from '../src/store/postgres/store.ts';
import { PG_SKIP, PG_URL, pgName, startHookline, waitFor, withPg, type TestServer } from './helpers.ts';

/** A TCP proxy to PostgreSQL that can be cut (its connections ended, new ones hung up at once) and mended. */
class Proxy {
  readonly #to: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  #down = false;

  constructor(url: string) {
    const u = new URL(url);
    this.#to = { host: u.hostname, port: Number(u.port || 5432) };
    this.#server = createServer((client) => {
      client.on('error', () => undefined);
      if (this.#down) return void client.destroy();
      const server = connect(this.#to);
      for (const s of [client, server]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(server).pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  cut(): void {
    this.#down = true;
    for (const s of this.#sockets) s.destroy();
  }

  mend(): void {
    this.#down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

test('PostgreSQL unreachable: the API answers 503 unavailable with Retry-After, not 500; served again once it is back', { skip: PG_SKIP }, async () => {
  const proxy = new Proxy(PG_URL!);
  const port = await proxy.listen();
  const schema = pgName('hl_unreach');
  const via = new URL(PG_URL!);
  via.host = `127.0.0.1:${port}`;
  const store = new PostgresStore({ connectionString: via.toString(), schema });
  let s: TestServer | undefined;
  try {
    s = await startHookline({ role: 'api' }, { store });
    assert.equal((await s.api('GET', '/v1/calls')).status, 200);
    proxy.cut();
    const down = await s.api('GET', '/v1/calls');
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.code, 'unavailable');
    assert.equal(down.headers.get('retry-after'), '1');
    const placed = await s.api('POST', '/v1/calls', { from: '+15550900001', to: '+15550900002' });
    assert.equal(placed.status, 503, JSON.stringify(placed.body));
    assert.equal((await s.api('GET', '/readyz', undefined, { key: null })).status, 503);
    proxy.mend();
    await waitFor(async () => (await s!.api('GET', '/v1/calls')).status === 200, 10_000, 'the API to serve again');
  } finally {
    proxy.mend(); // a stop needs the database
    await s?.stop();
    await proxy.close();
    await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  }
});
