import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HooklineError } from '../../errors.ts';
import type { Api } from '../server.ts';

/** Where `npm run build:console` (run by npm's `prepare`) puts the console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/**
 * The console's pages allow scripts, styles and requests from this origin only (the build has
 * no inline script), and may not be framed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json',
};

interface File {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  br: Buffer;
  /** hashed names never change content: cached for a year; the page itself is revalidated */
  immutable: boolean;
}

// Compressed copies written next to each file by `npm run build:console` (precompress below):
// brotli at quality 11 takes ~0.5 s for the ~300 KB build, which every start (and so every
// restart after a crash) used to spend before it listened.
const COMPRESSED = ['.br', '.gz'] as const;

const gzip = (raw: Buffer): Buffer => gzipSync(raw, { level: 9 });
const brotli = (raw: Buffer): Buffer => brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });

function walk(dir: string, each: (full: string, rel: string) => void): void {
  const go = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) go(full);
      else if (!COMPRESSED.some((x) => name.endsWith(x))) each(full, path.relative(dir, full).split(path.sep).join('/'));
    }
  };
  go(dir);
}

/** A file's compressed copy from the build if it is not older than the file, else made now (a test's build, an old one). */
function compressed(full: string, ext: '.br' | '.gz', raw: Buffer): Buffer {
  const fresh = existsSync(full + ext) && statSync(full + ext).mtimeMs >= statSync(full).mtimeMs;
  return fresh ? readFileSync(full + ext) : ext === '.br' ? brotli(raw) : gzip(raw);
}

/** Every file of the build with its compressed copies (the console is a few hundred KB). */
function load(dir: string): Map<string, File> {
  const files = new Map<string, File>();
  walk(dir, (full, rel) => {
    const raw = readFileSync(full);
    files.set(rel, {
      type: TYPES[path.extname(full)] ?? 'application/octet-stream', raw,
      gzip: compressed(full, '.gz', raw),
      br: compressed(full, '.br', raw),
      immutable: rel.startsWith('assets/'),
    });
  });
  return files;
}

/** Writes `<file>.br` and `<file>.gz` beside every file of a build (run after vite build). */
export function precompress(dir = CONSOLE_DIR): number {
  let n = 0;
  walk(dir, (full) => {
    const raw = readFileSync(full);
    writeFileSync(full + '.br', brotli(raw));
    writeFileSync(full + '.gz', gzip(raw));
    n += 1;
  });
  return n;
}

function send(req: FastifyRequest, reply: FastifyReply, f: File) {
  const accept = String(req.headers['accept-encoding'] ?? '');
  const [body, encoding] = /\bbr\b/.test(accept) ? [f.br, 'br'] : /\bgzip\b/.test(accept) ? [f.gzip, 'gzip'] : [f.raw, null];
  if (encoding) reply.header('content-encoding', encoding);
  return reply
    .header('vary', 'accept-encoding')
    .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .type(f.type)
    .send(body);
}

/** `GET /` → `/console/`; the console's files, and its page for every other path under it. */
export function consoleRoutes(app: Api, dir = CONSOLE_DIR): void {
  const files = existsSync(path.join(dir, 'index.html')) ? load(dir) : null;
  const schema = { hide: true } as const;
  app.get('/', { schema }, async (_req, reply) => reply.redirect('/console/', 302));
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!files) throw new HooklineError('unavailable', 'the console is not built: run npm install (or npm run build:console)');
    const rel = (req.params as { '*'?: string })['*'] ?? '';
    const file = files.get(rel);
    if (file) return send(req, reply, file);
    // a missing asset is a 404; any other path is a page of the console
    if (rel.startsWith('assets/')) throw new HooklineError('route_not_found', `no console file ${rel}`);
    return send(req, reply, files.get('index.html')!);
  };
  // the router ignores a trailing slash: /console and /console/ are one route, the page
  app.get('/console', { schema }, serve);
  app.get('/console/*', { schema }, serve);
}
