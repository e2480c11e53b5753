/**
 * Issue 12: the console is served by Hookline itself: `/` redirects to it, its page carries the
 * security headers (CSP without inline scripts, no framing), its hashed assets are cached for
 * good and compressed, and the first load of the Calls page stays under 300 KB compressed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { CONSOLE_DIR } from '../src/api/routes/console.ts';
import { startHookline } from './helpers.ts';

/** A raw GET (fetch would undo the compression and follow redirects). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('the console: / redirects, security headers, cached and compressed assets, first load under 300 KB', { skip: existsSync(path.join(CONSOLE_DIR, 'index.html')) ? false : 'the console is not built (npm run build:console)' }, async (t) => {
  const s = await startHookline();
  t.after(() => s.stop());
  const root = await get(`${s.url}/`);
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/console/');

  const page = await get(`${s.url}/console/`, { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(page.headers['content-encoding'], 'br');
  assert.equal(page.headers['cache-control'], 'no-cache');
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = (await get(`${s.url}/console/`)).body.toString('utf8');
  // no inline script: every script has a src on this origin
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /https?:\/\//);
  // a page of the console (the server does not know the client's routes) is the same page
  assert.equal((await get(`${s.url}/console/calls`)).status, 200);
  assert.equal((await get(`${s.url}/console`)).status, 200);

  const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.length >= 1, html);
  let total = (await get(`${s.url}/console/`, { 'accept-encoding': 'gzip' })).body.length;
  for (const a of assets) {
    const r = await get(`${s.url}${a}`, { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 200, a);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(String(r.headers['cache-control']), /immutable/);
    total += r.body.length;
  }
  assert.ok(total < 300 * 1024, `first load is ${total} bytes compressed`);
  assert.equal((await get(`${s.url}/console/assets/nope.js`)).status, 404);
});

test('the build’s compressed copies are served as they are; a build without them (or with stale ones) is compressed at start', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync, utimesSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
  const { precompress } = await import('../src/api/routes/console.ts');
  const Fastify = (await import('fastify')).default;
  const { consoleRoutes } = await import('../src/api/routes/console.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-console-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const page = '<!doctype html><title>console</title>' + 'x'.repeat(2000);
  writeFileSync(path.join(dir, 'index.html'), page);
  const serve = async () => {
    const app = Fastify();
    consoleRoutes(app as never, dir);
    const r = await app.inject({ url: '/console/', headers: { 'accept-encoding': 'br' } });
    const g = await app.inject({ url: '/console/', headers: { 'accept-encoding': 'gzip' } });
    await app.close();
    return { br: r.rawPayload, gz: g.rawPayload };
  };
  // No copies: compressed at start, still correct.
  let got = await serve();
  assert.equal(brotliDecompressSync(got.br).toString(), page);
  assert.equal(gunzipSync(got.gz).toString(), page);
  // Copies written by the build: those very bytes are served.
  assert.equal(precompress(dir), 1);
  const marker = Buffer.from('from the build');
  writeFileSync(path.join(dir, 'index.html.br'), marker);
  got = await serve();
  assert.deepEqual(got.br, marker, 'the .br beside the file is served as it is');
  assert.equal(gunzipSync(got.gz).toString(), page);
  // A copy older than its file is not trusted.
  const old = new Date(Date.now() - 60_000);
  utimesSync(path.join(dir, 'index.html.br'), old, old);
  got = await serve();
  assert.equal(brotliDecompressSync(got.br).toString(), page);
});
